import { defineConfig } from "vite";

// Built into web/dist and served by `canvass serve` from the same origin as the API: no CDN.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0, sourcemap: false },
});
