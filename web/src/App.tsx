// Two apps in one bundle: the kiosk (/kiosk, API key) and the console (/console, signed-in staff).

import { Component, type ErrorInfo, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { Console } from "./console/Console";
import { t, useLocale } from "./i18n";
import { KioskPage } from "./kiosk/KioskPage";

/** React Router 7's behaviour now, so the upgrade changes nothing. */
export const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

/** A bug in a page must not leave a blank screen: say so and offer a reload. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("Rollcall UI error", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <main className="centered">
        <div className="card" role="alert">
          <h1>{t("app.crashed")}</h1>
          <p>{this.state.error.message}</p>
          <button type="button" className="primary" onClick={() => window.location.reload()}>
            {t("app.reload")}
          </button>
        </div>
      </main>
    );
  }
}

export function App() {
  useLocale(); // a change of language renders every page again
  return (
    <ErrorBoundary>
      <BrowserRouter future={ROUTER_FUTURE}>
        <Routes>
          <Route path="/" element={<Navigate to="/console" replace />} />
          <Route path="/kiosk" element={<KioskPage />} />
          <Route path="/console/*" element={<Console />} />
          <Route path="*" element={<Navigate to="/console" replace />} />
        </Routes>
      </BrowserRouter>
    </ErrorBoundary>
  );
}
