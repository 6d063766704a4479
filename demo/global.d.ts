/** The demo exposes its app object for scripts and tests (scripts/screenshots.ts, test/browser/demo.test.ts). */
import type { DemoApp } from './main';

declare global {
  interface Window {
    dioramaDemo?: DemoApp;
  }
}
