package dev.comfyless.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The address policy, address by address: literals are parsed by the JDK (as the fetcher parses them), then judged.
 */
class AddressPolicyTest {

    static Stream<Arguments> addresses() {
        return Stream.of(
                // loopback and unspecified
                refused("127.0.0.1", "loopback"),
                refused("127.255.255.254", "loopback"),
                refused("::1", "loopback"),
                refused("0.0.0.0", "unspecified"),
                refused("::", "unspecified"),
                refused("0.1.2.3", "reserved"),
                // link-local, the cloud metadata service included
                refused("169.254.169.254", "link-local"),
                refused("169.254.0.1", "link-local"),
                refused("fe80::1", "link-local"),
                refused("febf:ffff::1", "link-local"),
                // private networks
                refused("10.0.0.1", "private"),
                refused("10.255.255.255", "private"),
                refused("172.16.0.1", "private"),
                refused("172.31.255.255", "private"),
                refused("192.168.1.1", "private"),
                refused("fc00::1", "private"),
                refused("fd12:3456:789a::1", "private"),
                refused("fec0::1", "private"),
                refused("100.64.0.1", "carrier-grade NAT"),
                refused("100.127.255.255", "carrier-grade NAT"),
                // multicast, broadcast, reserved
                refused("224.0.0.1", "multicast"),
                refused("239.255.255.250", "multicast"),
                refused("ff02::1", "multicast"),
                refused("255.255.255.255", "broadcast"),
                refused("240.0.0.1", "reserved"),
                refused("192.0.2.1", "reserved"),
                refused("198.18.0.1", "reserved"),
                refused("2001:db8::1", "reserved"),
                refused("100::1", "reserved"),
                // IPv6 forms of refused IPv4 addresses
                refused("::ffff:127.0.0.1", "loopback"),
                refused("::ffff:169.254.169.254", "link-local"),
                refused("::ffff:10.1.2.3", "private"),
                refused("::127.0.0.1", "loopback"),
                refused("::10.0.0.1", "private"),
                refused("64:ff9b::7f00:1", "loopback"),
                refused("64:ff9b::192.168.0.1", "private"),
                refused("2002:7f00:1::1", "loopback"),
                refused("2002:a9fe:a9fe::", "link-local"),
                refused("2002:c0a8:0101::1", "private"),
                // allowed: public unicast, also right next to the refused ranges
                allowed("8.8.8.8"),
                allowed("1.1.1.1"),
                allowed("93.184.216.34"),
                allowed("172.15.255.255"),
                allowed("172.32.0.1"),
                allowed("100.63.255.255"),
                allowed("100.128.0.1"),
                allowed("169.253.255.255"),
                allowed("192.169.0.1"),
                allowed("11.0.0.1"),
                allowed("223.255.255.254"),
                allowed("2606:4700:4700::1111"),
                allowed("2a00:1450:4001:80b::200e"),
                allowed("::ffff:8.8.8.8"),
                allowed("64:ff9b::8.8.8.8"),
                allowed("2002:0808:0808::1"),
                // exotic spellings, as the JDK's parser reads them: 2130706433 is 127.0.0.1 in one number, and the
                // JDK reads leading zeros as decimal (so 0177.0.0.1 is 177.0.0.1, 010.0.0.1 is 10.0.0.1)
                refused("2130706433", "loopback"),
                refused("3232235777", "private"),
                refused("010.0.0.1", "private"),
                allowed("0177.0.0.1"),
                refused("0:0:0:0:0:ffff:7f00:1", "loopback"),
                refused("0000:0000:0000:0000:0000:0000:0000:0001", "loopback"));
    }

    private static Arguments refused(String address, String why) {
        return Arguments.of(address, why);
    }

    private static Arguments allowed(String address) {
        return Arguments.of(address, null);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("addresses")
    void eachAddressIsJudgedByItsBytes(String literal, String why) throws Exception {
        InetAddress address = InetAddress.getByName(literal); // a literal: no DNS query
        String refusal = AddressPolicy.refusal(address);
        if (why == null) {
            assertThat(refusal).as(literal + " (" + address.getHostAddress() + ")").isNull();
        } else {
            assertThat(refusal).as(literal + " (" + address.getHostAddress() + ")").isNotNull().contains(why);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"0x7f.1", "127.1", "0x7f000001", "017700000001", "127.0.0.1.", "[::ffff:7f00:1]x",
            "1.2.3.4.5"})
    void spellingsTheJdkDoesNotTakeAsAnAddressAreNotFetched(String host) {
        // java.net.URI gives no host for some; the JDK's address parser refuses the others; none is ever guessed
        String problem = InputUrl.problem("http://" + host + "/x.png", false);
        assertThat(problem).as(host).isNotNull();
        assertThat(InputUrl.problem("http://" + host + "/x.png", true)).as(host + " even with private allowed")
                .isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1/x.png", "http://2130706433/x.png", "http://[::1]:8080/x.png",
            "https://[::ffff:127.0.0.1]/x.png", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1:80/",
            "http://[fe80::1]/", "http://[64:ff9b::a00:1]/"})
    void aLiteralPrivateAddressIsRefusedAtOnceUnlessAllowed(String url) {
        assertThat(InputUrl.problem(url, false)).as(url).contains("COMFYLESS_ALLOW_PRIVATE_URLS=true");
        assertThat(InputUrl.problem(url, true)).as(url).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ftp://example.com/x.png", "file:///etc/passwd", "gopher://example.com:70/_x",
            "jar:http://example.com/x.jar!/x.png", "data:image/png;base64,AAAA", "//example.com/x.png", "x.png"})
    void onlyHttpAndHttpsAreFetched(String url) {
        assertThat(InputUrl.problem(url, true)).as(url).contains("only http and https");
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://user:secret@example.com/x.png", "https://token@example.com/x.png",
            "http://user:secret@127.0.0.1/x.png"})
    void credentialsAreRefusedAndNeverRepeated(String url) {
        String problem = InputUrl.problem(url, true);
        assertThat(problem).contains("credentials").doesNotContain("secret").doesNotContain("token");
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://example.com/cat.png?sig=abc", "http://images.example.org:8080/a/b.png",
            "http://8.8.8.8/x.png", "https://[2606:4700:4700::1111]/x.png", "HTTPS://Example.COM/x.png",
            "http://localhost:8188/x.png", "http://metadata.google.internal/"})
    void publicAddressesAndNamesPassTheSubmitCheck(String url) {
        // names are checked when they are resolved, at fetch time
        assertThat(InputUrl.problem(url, false)).as(url).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://example.com/x.png?token=abc", "http://[::1]:9/x", "http://a.b.example:81/"})
    void messagesShowTheHostOnly(String url) throws Exception {
        InputUrl.Checked checked = InputUrl.check(url);
        assertThat(checked.shown()).doesNotContain("token").doesNotContain("/").doesNotContain("?");
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://exa mple.com/", "http://[::1/x"})
    void aMalformedUrlIsRefused(String url) {
        assertThatThrownBy(() -> InputUrl.check(url)).isInstanceOf(InputUrl.Refused.class)
                .hasMessageContaining("not a valid URL");
    }
}
