/** A distinct colour per layer (hue from blue at the back to red at the front), as 0–255 RGB. */
export function layerColour(index: number, count: number): [number, number, number] {
  const h = (240 * (1 - index / Math.max(1, count - 1))) / 360;
  const f = (n: number): number => {
    const k = (n + h * 12) % 12;
    return Math.round(255 * (0.55 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}
