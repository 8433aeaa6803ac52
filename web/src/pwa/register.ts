// Installs the service worker (sw.ts) in a production build; the dev server has none, so a change is
// always seen at once while developing.

export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err: unknown) => {
      console.warn("Rollcall: no offline shell (service worker not installed)", err);
    });
  });
}
