/**
 * Diagnostic variants of a decomposition for the novel-view evaluation (`eval:views --experiment …`). They
 * are NOT part of the pipeline: each one imitates, after the fact, a change proposed for the core, so that
 * its effect on the §2 metrics can be measured before anyone edits src/core. (`voronoiFills` with slack 2 was
 * measured here and then adopted in src/core/build-layers.ts, FILL_SLACK; larger slacks can still be tried.)
 *
 * - `voronoiFills`: a filled (role 2) pixel p of an intermediate layer L ≥ 1 is kept only where L is the
 *   nearest of the layers that could be revealed there, i.e. where the distance from p to L's own pixels is
 *   at most `slack` px more than the distance to the nearest pixel of any FARTHER layer (own pixels of
 *   layers < L); distances are chessboard distances (src/math/labels.ts bandDistance, capped at 254 px, as
 *   build-layers.ts measures its margins). Elsewhere it is made transparent, so the farther layer's own fill (the back layer is
 *   filled everywhere) shows instead. Rationale: when a foreground object moves aside, the revealed strip
 *   continues the surface that bordered the object on that side; a middle layer that touches the object
 *   only at one point (a basket handle touching the antlers) should not paint its fill over the whole
 *   margin around it, covering the background that borders the object elsewhere.
 */
import type { Decomposition, Layer } from '../../src/core/types';
import { bandDistance } from '../../src/math/labels';

/** Applies the `voronoiFills` experiment (see the module comment); returns a new decomposition. */
export function voronoiFills(dec: Decomposition, slack: number): Decomposition {
  const { width: W, height: H } = dec;
  const owner = dec.layerOfPixel;
  if (!owner) throw new Error('voronoiFills: the decomposition has no layerOfPixel');
  const n = W * H;
  const seeds = new Uint8Array(n);
  const layers: Layer[] = dec.layers.map((l) => {
    if (l.index === 0) return l;
    for (let i = 0; i < n; i++) seeds[i] = owner[i] === l.index ? 1 : 0;
    const dOwn = bandDistance(seeds, W, H, 254);
    for (let i = 0; i < n; i++) seeds[i] = owner[i]! < l.index ? 1 : 0;
    const dFar = bandDistance(seeds, W, H, 254);
    const data = new Uint8ClampedArray(l.rgba.data);
    const { x: bx, y: by, width: cw } = l.bbox;
    for (let j = 0; j < l.role.length; j++) {
      if (l.role[j] !== 2) continue;
      const i = (by + Math.floor(j / cw)) * W + bx + (j % cw);
      if (dOwn[i]! > dFar[i]! + slack) data[4 * j + 3] = 0;
    }
    return { ...l, rgba: { width: l.rgba.width, height: l.rgba.height, data } };
  });
  return { ...dec, layers };
}
