// The build's PWA files, made by the build itself: the web app manifest, the icons (drawn by
// src/pwa/icon.ts, encoded here as PNG), the favicon, and the service worker (src/pwa/sw.ts) with the list
// of this build's files to keep offline. Nothing is downloaded; the same sources give the same files.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import type { Plugin } from "vite";
import { drawIcon } from "../src/pwa/icon";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const SW_SOURCE = here("../src/pwa/sw.ts");
const SW_FILE = "sw.js";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, "ascii"), Buffer.from(data)]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** An 8-bit RGBA PNG of ``size``×``size`` pixels (no filter: the icons are small). */
export function encodePng(size: number, rgba: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) Buffer.from(rgba.buffer, rgba.byteOffset + y * size * 4, size * 4).copy(rows, y * (size * 4 + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", header), chunk("IDAT", deflateSync(rows, { level: 9 })), chunk("IEND", new Uint8Array())]);
}

const ICONS = [
  { fileName: "icons/icon-192.png", size: 192, maskable: false },
  { fileName: "icons/icon-512.png", size: 512, maskable: false },
  { fileName: "icons/maskable-512.png", size: 512, maskable: true },
];

/** start_url is the kiosk: the installed app is the tablet at the door (staff use the console in a browser). */
const MANIFEST = {
  name: "Rollcall",
  short_name: "Rollcall",
  description: "Face-authenticated school attendance: the kiosk and the staff console.",
  id: "/kiosk",
  start_url: "/kiosk",
  scope: "/",
  display: "standalone",
  orientation: "any",
  background_color: "#0b1d33",
  theme_color: "#12355b",
  icons: [
    ...ICONS.map(({ fileName, size, maskable }) => ({
      src: `/${fileName}`,
      sizes: `${size}x${size}`,
      type: "image/png",
      purpose: maskable ? "maskable" : "any",
    })),
    { src: "/favicon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" },
  ],
  shortcuts: [{ name: "Console", url: "/console" }],
};

export function pwa(): Plugin {
  return {
    name: "rollcall-pwa",
    apply: "build",
    // After Vite's own HTML plugin, so index.html is in the bundle the list is made from.
    enforce: "post",
    buildStart() {
      this.emitFile({ type: "chunk", id: SW_SOURCE, fileName: SW_FILE });
    },
    generateBundle(_options, bundle) {
      this.emitFile({ type: "asset", fileName: "favicon.svg", source: readFileSync(here("./favicon.svg")) });
      for (const { fileName, size, maskable } of ICONS) {
        this.emitFile({ type: "asset", fileName, source: encodePng(size, drawIcon(size, maskable)) });
      }
      this.emitFile({ type: "asset", fileName: "manifest.webmanifest", source: JSON.stringify(MANIFEST, null, 2) + "\n" });
      const worker = bundle[SW_FILE];
      if (!worker || worker.type !== "chunk") throw new Error("pwa: the service worker was not built");
      if (worker.imports.length || worker.dynamicImports.length) throw new Error("pwa: sw.js must be one file (a classic worker)");
      const files = Object.keys(bundle).filter((name) => name !== SW_FILE && !name.endsWith(".map"));
      const precache = files.map((name) => `/${name}`).sort();
      const version = createHash("sha256");
      for (const name of [...files].sort()) {
        const item = bundle[name];
        version.update(name).update(item.type === "chunk" ? item.code : item.source);
      }
      worker.code = worker.code
        .replace(/__PRECACHE__/g, JSON.stringify(precache))
        .replace(/__CACHE_VERSION__/g, JSON.stringify(version.digest("hex").slice(0, 16)));
    },
  };
}
