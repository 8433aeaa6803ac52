/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { pwa } from "./pwa/plugin";

// The ingress serves dist/ at "/"; in development Vite proxies the API to a running `scripts/run.sh`.
const api = process.env.ROLLCALL_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  // pwa(): the manifest, icons, favicon and the offline shell's service worker (pwa/plugin.ts).
  plugins: [react(), pwa()],
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 800 },
  // The kiosk's face landmark worker (tfjs inside, ~1.3 MB): a module of its own, fetched by the kiosk only.
  worker: { format: "es" },
  // The face model's weights (src/kiosk/landmarks.worker.ts): copied into assets/ as they are.
  assetsInclude: ["**/*.bin"],
  server: { host: "127.0.0.1", proxy: { "/v1": api, "/health": api } },
  test: { environment: "jsdom", globals: true, setupFiles: ["src/test/setup.ts"], css: false },
});
