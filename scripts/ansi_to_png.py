#!/usr/bin/env python3
"""Renders a terminal capture (`tmux capture-pane -e -p`: text with SGR colour escapes) to a
PNG, cell by cell, with DejaVu Sans Mono. Braille cells (charts) are drawn as dots.

usage: ansi_to_png.py CAPTURE.ansi OUT.png COLUMNS ROWS
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
BASE16 = [
    (0x1E, 0x1E, 0x1E), (0xCD, 0x31, 0x31), (0x0D, 0xBC, 0x79), (0xE5, 0xE5, 0x10),
    (0x24, 0x72, 0xC8), (0xBC, 0x3F, 0xBC), (0x11, 0xA8, 0xCD), (0xE5, 0xE5, 0xE5),
    (0x66, 0x66, 0x66), (0xF1, 0x4C, 0x4C), (0x23, 0xD1, 0x8B), (0xF5, 0xF5, 0x43),
    (0x3B, 0x8E, 0xEA), (0xD6, 0x70, 0xD6), (0x29, 0xB8, 0xDB), (0xFF, 0xFF, 0xFF),
]
DEFAULT_FG = (0xD4, 0xD4, 0xD4)
DEFAULT_BG = (0x12, 0x12, 0x12)


def color256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Pen:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = False
        self.reverse = False
        self.underline = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 22:
                self.bold = False
            elif c == 4:
                self.underline = True
            elif c == 24:
                self.underline = False
            elif c == 7:
                self.reverse = True
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = BASE16[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASE16[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = BASE16[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASE16[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    col = color256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    col = tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    col = None
                if c == 38:
                    self.fg = col
                else:
                    self.bg = col
            i += 1

    def colors(self):
        fg = self.fg or DEFAULT_FG
        bg = self.bg or DEFAULT_BG
        if self.bold and self.fg in BASE16[:8]:
            fg = BASE16[BASE16.index(self.fg) + 8]
        return (bg, fg) if self.reverse else (fg, bg)


def main():
    src, out, cols, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    text = open(src, encoding="utf-8", errors="replace").read()
    font = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(FONT_BOLD, SIZE)
    cw = round(font.getlength("M"))
    ch = SIZE + 4
    img = Image.new("RGB", (cols * cw, rows * ch), DEFAULT_BG)
    draw = ImageDraw.Draw(img)
    pen = Pen()
    token = re.compile(r"\x1b\[([0-9;]*)m|\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|(.)", re.S)
    x = y = 0
    for m in token.finditer(text):
        if m.group(1) is not None:
            pen.apply(m.group(1))
            continue
        c = m.group(2)
        if c is None:
            continue
        if c == "\n":
            x, y = 0, y + 1
            continue
        if y >= rows or x >= cols:
            continue
        fg, bg = pen.colors()
        px, py = x * cw, y * ch
        draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
        code = ord(c)
        if 0x2800 <= code <= 0x28FF:
            bits = code - 0x2800
            dots = [(0, 0, 0x1), (0, 1, 0x2), (0, 2, 0x4), (1, 0, 0x8), (1, 1, 0x10),
                    (1, 2, 0x20), (0, 3, 0x40), (1, 3, 0x80)]
            for dx, dy, bit in dots:
                if bits & bit:
                    cx = px + 2 + dx * (cw - 4) // 1.6
                    cy = py + 2 + dy * (ch - 4) / 4
                    draw.rectangle([cx, cy, cx + 2, cy + 2], fill=fg)
        elif c != " ":
            draw.text((px, py + 1), c, font=bold if pen.bold else font, fill=fg)
        if pen.underline:
            draw.line([px, py + ch - 2, px + cw - 1, py + ch - 2], fill=fg)
        x += 1
    img.save(out)


if __name__ == "__main__":
    main()
