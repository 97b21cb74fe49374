package dev.comfyless.sandbox;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** Writes PNG files with tEXt chunks, as SaveImage stores the prompt and extra_pnginfo in its PNGs. */
final class PngWriter {

    private static final String FORMAT = "javax_imageio_png_1.0";

    private PngWriter() {
    }

    static void write(Path file, BufferedImage image, Map<String, String> texts) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try {
            IIOMetadata metadata = writer.getDefaultImageMetadata(
                    ImageTypeSpecifier.createFromRenderedImage(image), null);
            IIOMetadataNode text = new IIOMetadataNode("tEXt");
            texts.forEach((keyword, value) -> {
                if (isKeyword(keyword)) {
                    IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                    entry.setAttribute("keyword", keyword);
                    entry.setAttribute("value", value);
                    text.appendChild(entry);
                }
            });
            IIOMetadataNode root = new IIOMetadataNode(FORMAT);
            root.appendChild(text);
            metadata.mergeTree(FORMAT, root);
            // in memory first: FileImageOutputStream would leave stale bytes behind a shorter overwrite
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 * 1024);
            try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
                writer.setOutput(out);
                writer.write(null, new IIOImage(image, null, metadata), null);
            }
            Files.write(file, bytes.toByteArray());
        } finally {
            writer.dispose();
        }
    }

    /** PNG keywords are 1 to 79 Latin-1 characters; others would make the writer fail. */
    private static boolean isKeyword(String keyword) {
        return !keyword.isEmpty() && keyword.length() < 80
                && StandardCharsets.ISO_8859_1.newEncoder().canEncode(keyword);
    }
}
