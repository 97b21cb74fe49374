package dev.comfyless.sandbox;

import java.util.HashMap;
import java.util.Map;

/**
 * A 5x7 pixel font drawn straight into an RGB pixel array. Servers and containers often have no fonts installed, so
 * java.awt text rendering is not an option. Lower case prints as upper case; unknown characters print as '?'.
 */
final class BitmapFont {

    static final int WIDTH = 5;
    static final int HEIGHT = 7;
    /** Glyph cell including one column and two rows of spacing. */
    static final int ADVANCE = WIDTH + 1;
    static final int LINE = HEIGHT + 2;

    /** Seven rows per glyph, top to bottom, each row two hex digits whose low five bits are the pixels. */
    private static final Map<Character, String> GLYPHS = new HashMap<>();

    static {
        glyph(' ', "00000000000000");
        glyph('!', "04040404040004");
        glyph('"', "0A0A0A00000000");
        glyph('#', "0A0A1F0A1F0A0A");
        glyph('$', "040F140E051E04");
        glyph('%', "18190204081303");
        glyph('&', "0C12140815120D");
        glyph('\'', "04040800000000");
        glyph('(', "02040808080402");
        glyph(')', "08040202020408");
        glyph('*', "0004150E150400");
        glyph('+', "0004041F040400");
        glyph(',', "000000000C0408");
        glyph('-', "0000001F000000");
        glyph('.', "00000000000C0C");
        glyph('/', "00010204081000");
        glyph('0', "0E11131519110E");
        glyph('1', "040C040404040E");
        glyph('2', "0E11010204081F");
        glyph('3', "1F02040201110E");
        glyph('4', "02060A121F0202");
        glyph('5', "1F101E0101110E");
        glyph('6', "0608101E11110E");
        glyph('7', "1F010204080808");
        glyph('8', "0E11110E11110E");
        glyph('9', "0E11110F01020C");
        glyph(':', "000C0C000C0C00");
        glyph(';', "000C0C000C0408");
        glyph('<', "02040810080402");
        glyph('=', "00001F001F0000");
        glyph('>', "08040201020408");
        glyph('?', "0E110102040004");
        glyph('@', "0E11010D15150E");
        glyph('A', "0E11111F111111");
        glyph('B', "1E11111E11111E");
        glyph('C', "0E11101010110E");
        glyph('D', "1C12111111121C");
        glyph('E', "1F10101E10101F");
        glyph('F', "1F10101E101010");
        glyph('G', "0E11101711110F");
        glyph('H', "1111111F111111");
        glyph('I', "0E04040404040E");
        glyph('J', "0702020202120C");
        glyph('K', "11121418141211");
        glyph('L', "1010101010101F");
        glyph('M', "111B1515111111");
        glyph('N', "11111915131111");
        glyph('O', "0E11111111110E");
        glyph('P', "1E11111E101010");
        glyph('Q', "0E11111115120D");
        glyph('R', "1E11111E141211");
        glyph('S', "0F10100E01011E");
        glyph('T', "1F040404040404");
        glyph('U', "1111111111110E");
        glyph('V', "11111111110A04");
        glyph('W', "1111111515150A");
        glyph('X', "11110A040A1111");
        glyph('Y', "11110A04040404");
        glyph('Z', "1F01020408101F");
        glyph('[', "0E08080808080E");
        glyph('\\', "00100804020100");
        glyph(']', "0E02020202020E");
        glyph('^', "040A1100000000");
        glyph('_', "0000000000001F");
        glyph('`', "08040200000000");
        glyph('{', "02040408040402");
        glyph('|', "04040404040404");
        glyph('}', "08040402040408");
        glyph('~', "00000815020000");
    }

    private BitmapFont() {
    }

    private static void glyph(char c, String rows) {
        GLYPHS.put(c, rows);
    }

    /** Draws one line of text with its top-left corner at (x, y); pixels outside the image are skipped. */
    static void draw(int[] pixels, int width, int height, String text, int x, int y, int scale, int rgb) {
        for (int i = 0; i < text.length(); i++) {
            String rows = GLYPHS.getOrDefault(Character.toUpperCase(text.charAt(i)), GLYPHS.get('?'));
            int left = x + i * ADVANCE * scale;
            for (int row = 0; row < HEIGHT; row++) {
                int bits = Integer.parseInt(rows.substring(row * 2, row * 2 + 2), 16);
                for (int col = 0; col < WIDTH; col++) {
                    if ((bits & (0x10 >> col)) != 0) {
                        fill(pixels, width, height, left + col * scale, y + row * scale, scale, rgb);
                    }
                }
            }
        }
    }

    private static void fill(int[] pixels, int width, int height, int x, int y, int size, int rgb) {
        for (int py = Math.max(0, y); py < Math.min(height, y + size); py++) {
            for (int px = Math.max(0, x); px < Math.min(width, x + size); px++) {
                pixels[py * width + px] = rgb;
            }
        }
    }
}
