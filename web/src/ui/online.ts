// Whether the browser has a network at all (navigator.onLine and its events). "Online" does not promise the
// server answers; "offline" is certain, so the kiosk says so at once instead of trying a check-in.

import { useSyncExternalStore } from "react";

function subscribe(listener: () => void): () => void {
  window.addEventListener("online", listener);
  window.addEventListener("offline", listener);
  return () => {
    window.removeEventListener("online", listener);
    window.removeEventListener("offline", listener);
  };
}

export function useOnline(): boolean {
  // Only a browser that says "offline" is: one that does not say (an old WebView) counts as online.
  return useSyncExternalStore(subscribe, () => navigator.onLine !== false);
}
