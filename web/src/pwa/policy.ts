// What the service worker (sw.ts) does with a request, as a pure function so it is tested without a worker.
// Only two kinds are ever answered from the cache: the build's own files (precached at install, by exact
// path) and the app's page for its own routes when the network fails. Everything else, the API (/v1/...),
// camera frames (POSTed, or blob: URLs) and any other origin, goes to the network untouched and is never
// stored.

/** The single-page app's routes (App.tsx): their page is the precached index.html. */
const APP_ROUTES = /^\/(?:kiosk|console(?:\/.*)?)?\/?$/;

export type Strategy = "precached" | "page" | "network";

export function strategyFor(
  request: { method: string; mode: string; url: string },
  origin: string,
  precached: ReadonlySet<string>,
): Strategy {
  if (request.method !== "GET") return "network";
  const url = new URL(request.url);
  if (url.origin !== origin) return "network";
  if (request.mode === "navigate") return APP_ROUTES.test(url.pathname) ? "page" : "network";
  return url.search === "" && precached.has(url.pathname) ? "precached" : "network";
}
