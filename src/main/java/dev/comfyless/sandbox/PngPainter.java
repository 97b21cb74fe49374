package dev.comfyless.sandbox;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Paints the pixels of simulated images: recognisable at a glance (a colour picked by the seed, the prompt and seed
 * written on it) and deterministic, so the same prompt always gives the same picture. Pixel arrays only, no AWT text.
 */
final class PngPainter {

    private static final int NEUTRAL = 0x7a7268; // what a VAE makes of an all-zero latent: a dull grey-brown
    private static final int TEXT = 0xffffff;
    private static final int SHADOW = 0x101010;

    private PngPainter() {
    }

    /** A sampled image: a vertical gradient in the seed's colour with the seed and prompt written over it. */
    static BufferedImage sampled(int width, int height, BigInteger seed, String prompt, int batchIndex) {
        long mixed = mix(seed.longValue() ^ seed.shiftRight(64).longValue()) + batchIndex * 0x9E3779B97F4A7C15L;
        float hue = (mixed >>> 40) / (float) (1 << 24);
        int top = Color.HSBtoRGB(hue, 0.55f, 0.95f) & 0xffffff;
        int bottom = Color.HSBtoRGB(hue + 0.08f, 0.75f, 0.45f) & 0xffffff;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] pixels = pixels(image);
        for (int y = 0; y < height; y++) {
            int rgb = blend(top, bottom, height == 1 ? 0 : (float) y / (height - 1));
            Arrays.fill(pixels, y * width, (y + 1) * width, rgb);
        }
        List<String> lines = new ArrayList<>();
        lines.add("SEED " + seed);
        int scale = Math.max(1, Math.min(width, height) / 128);
        int margin = 2 * scale;
        lines.addAll(wrap(prompt, Math.max(1, (width - 2 * margin) / (BitmapFont.ADVANCE * scale))));
        int y = margin;
        for (String line : lines) {
            if (y + BitmapFont.HEIGHT * scale > height) {
                break;
            }
            BitmapFont.draw(pixels, width, height, line, margin + scale, y + scale, scale, SHADOW);
            BitmapFont.draw(pixels, width, height, line, margin, y, scale, TEXT);
            y += BitmapFont.LINE * scale;
        }
        return image;
    }

    /** What VAEDecode makes of a latent nobody sampled. */
    static BufferedImage neutral(int width, int height) {
        return flat(width, height, NEUTRAL);
    }

    static BufferedImage flat(int width, int height, int rgb) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Arrays.fill(pixels(image), rgb & 0xffffff);
        return image;
    }

    /** The RGB part of a decoded picture (LoadImage drops alpha into its MASK output). */
    static BufferedImage rgbCopy(BufferedImage source) {
        int width = source.getWidth();
        int height = source.getHeight();
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] pixels = pixels(image);
        source.getRGB(0, 0, width, height, pixels, 0, width);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] &= 0xffffff;
        }
        return image;
    }

    private static int[] pixels(BufferedImage image) {
        return ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
    }

    private static List<String> wrap(String text, int columns) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.strip().split("\\s+")) {
            while (word.length() > columns) {
                if (line.length() > 0) {
                    lines.add(line.toString());
                    line.setLength(0);
                }
                lines.add(word.substring(0, columns));
                word = word.substring(columns);
            }
            if (line.length() > 0 && line.length() + 1 + word.length() > columns) {
                lines.add(line.toString());
                line.setLength(0);
            }
            line.append(line.length() > 0 ? " " : "").append(word);
        }
        if (line.length() > 0) {
            lines.add(line.toString());
        }
        return lines;
    }

    private static int blend(int a, int b, float t) {
        int r = Math.round(((a >> 16) & 0xff) * (1 - t) + ((b >> 16) & 0xff) * t);
        int g = Math.round(((a >> 8) & 0xff) * (1 - t) + ((b >> 8) & 0xff) * t);
        int bl = Math.round((a & 0xff) * (1 - t) + (b & 0xff) * t);
        return (r << 16) | (g << 8) | bl;
    }

    /** SplitMix64's finaliser: neighbouring seeds get unrelated colours. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
