/**
 * Contact sheets for the evaluation commands (Node only, sharp): a grid of equally sized image tiles with a
 * title, a label above each column and one left of each row, on a dark grey background.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import type { RGBAImage } from '../../src/core/types';

export interface SheetRow {
  label: string;
  tiles: RGBAImage[];
}

/** Tiles are scaled (never up) to at most this width. */
const TILE_MAX_WIDTH = 320;
const GAP = 4;
const LABEL_W = 150;
const HEADER_H = 24;
const TITLE_H = 28;

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function textSvg(text: string, width: number, height: number, size: number, anchor: 'start' | 'middle'): Buffer {
  const x = anchor === 'middle' ? width / 2 : 6;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<text x="${x}" y="${Math.round(height / 2 + size / 3)}" font-family="DejaVu Sans, sans-serif" font-size="${size}" fill="#e0e0e0" text-anchor="${anchor}">${escapeXml(text)}</text></svg>`,
  );
}

/**
 * Writes a PNG contact sheet: `columns` labels over the tile columns, each row's tiles (all the size of the
 * first tile, scaled to at most 320 px wide) with its label on the left, `title` on top.
 */
export async function writeContactSheet(path: string, columns: string[], rows: SheetRow[], title: string): Promise<void> {
  const first = rows[0]?.tiles[0];
  if (!first) throw new Error('writeContactSheet: no tiles');
  const scale = Math.min(1, TILE_MAX_WIDTH / first.width);
  const tw = Math.max(1, Math.round(first.width * scale));
  const th = Math.max(1, Math.round(first.height * scale));
  const ncol = Math.max(columns.length, ...rows.map((r) => r.tiles.length));
  const width = LABEL_W + ncol * (tw + GAP) + GAP;
  const height = TITLE_H + HEADER_H + rows.length * (th + GAP) + GAP;
  const layers: OverlayOptions[] = [{ input: textSvg(title, width, TITLE_H, 16, 'start'), left: 0, top: 0 }];
  columns.forEach((c, k) => layers.push({ input: textSvg(c, tw, HEADER_H, 13, 'middle'), left: LABEL_W + k * (tw + GAP) + GAP, top: TITLE_H }));
  for (let r = 0; r < rows.length; r++) {
    const top = TITLE_H + HEADER_H + r * (th + GAP) + GAP;
    layers.push({ input: textSvg(rows[r]!.label, LABEL_W, th, 13, 'start'), left: 0, top });
    for (let k = 0; k < rows[r]!.tiles.length; k++) {
      const t = rows[r]!.tiles[k]!;
      const tile = await sharp(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), { raw: { width: t.width, height: t.height, channels: 4 } })
        .resize(tw, th, { kernel: 'lanczos3' })
        .png()
        .toBuffer();
      layers.push({ input: tile, left: LABEL_W + k * (tw + GAP) + GAP, top });
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  await sharp({ create: { width, height, channels: 4, background: { r: 32, g: 32, b: 32, alpha: 1 } } })
    .composite(layers)
    .png({ compressionLevel: 6 })
    .toFile(path);
}
