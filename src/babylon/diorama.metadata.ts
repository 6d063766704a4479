/**
 * Scene-loader metadata of the Diorama plugin: its name and the image types it claims. Cheap to import
 * (no Babylon code), like Babylon's own `*.metadata.ts` files.
 */
export const DioramaFileLoaderMetadata = {
  name: 'diorama',
  extensions: {
    '.png': { isBinary: true, mimeType: 'image/png' },
    '.jpg': { isBinary: true, mimeType: 'image/jpeg' },
    '.jpeg': { isBinary: true, mimeType: 'image/jpeg' },
    '.webp': { isBinary: true, mimeType: 'image/webp' },
    '.avif': { isBinary: true, mimeType: 'image/avif' },
  },
} as const;
