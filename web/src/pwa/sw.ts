// The service worker: keeps the app shell (this build's files) so a kiosk that restarts without a network
// still opens its page and says it is offline. Built by pwa/plugin.ts into /sw.js, which fills in the
// build's file list and a version that changes with any of them; a new build installs beside the old one
// and removes its cache when it takes over. What is answered from the cache: policy.ts.

import { strategyFor } from "./policy";

declare const __PRECACHE__: string[];
declare const __CACHE_VERSION__: string;

/** The few service-worker types used here (the DOM library has no worker scope). */
interface LifecycleEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchLikeEvent extends LifecycleEvent {
  request: Request;
  respondWith(response: Promise<Response>): void;
}
const worker = self as unknown as {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: "install" | "activate", listener: (event: LifecycleEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: FetchLikeEvent) => void): void;
};

const PREFIX = "rollcall-shell-";
const CACHE = PREFIX + __CACHE_VERSION__;
const SHELL = "/index.html";
const precached = new Set(__PRECACHE__);

worker.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(__PRECACHE__.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => worker.clients.claim()),
  );
});

async function fromCache(request: Request | string): Promise<Response> {
  const hit = await caches.match(request, { cacheName: CACHE });
  return hit ?? fetch(request);
}

/** The network's page while there is one (a new build is seen at once), else this build's shell. */
async function page(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch (err) {
    const shell = await caches.match(SHELL, { cacheName: CACHE });
    if (shell) return shell;
    throw err;
  }
}

worker.addEventListener("fetch", (event) => {
  const strategy = strategyFor(event.request, worker.location.origin, precached);
  if (strategy === "precached") event.respondWith(fromCache(event.request));
  else if (strategy === "page") event.respondWith(page(event.request));
  // "network": not answered here, so the browser fetches it as if there were no worker, and nothing is kept.
});
