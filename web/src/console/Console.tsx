// The console's frame: signed-in gate, navigation by role, and the sign-in dialog when the session ends.

import { useEffect, useState, useSyncExternalStore } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { resumeSession, sessionState, signOut, subscribe } from "../api/session";
import { AuditPage } from "./AuditPage";
import { ClassPage, ClassesPage } from "./ClassesPage";
import { KiosksPage } from "./KiosksPage";
import { LoginPage, SessionExpiredDialog } from "./Login";
import { ReportsPage } from "./ReportsPage";
import { LessonPage } from "./LessonPage";
import { StudentPage } from "./StudentPage";
import { StudentsPage } from "./StudentsPage";

export function Console() {
  const state = useSyncExternalStore(subscribe, sessionState);
  const [resumed, setResumed] = useState(false);
  useEffect(() => {
    void resumeSession().finally(() => setResumed(true));
  }, []);
  if (!resumed) return <p className="muted" role="status">Loading…</p>;
  if (state.status === "signed_out") return <LoginPage />;
  const user = state.user;
  const isAdmin = user?.role === "admin";
  return (
    <div className="console">
      <header className="topbar">
        <strong className="brand">Rollcall</strong>
        <nav aria-label="Console">
          <NavLink to="/console/classes">Classes</NavLink>
          <NavLink to="/console/students">Students</NavLink>
          <NavLink to="/console/reports">Reports</NavLink>
          {isAdmin && <NavLink to="/console/kiosks">Kiosks</NavLink>}
          {isAdmin && <NavLink to="/console/audit">Audit log</NavLink>}
        </nav>
        <span className="who">
          {user?.full_name} ({user?.role})
          <button type="button" className="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      {/* Inert while the sign-in dialog is up, but mounted: forms keep what was typed. */}
      <main className="content" inert={state.status === "expired"}>
        <Routes>
          <Route index element={<Navigate to="classes" replace />} />
          <Route path="classes" element={<ClassesPage isAdmin={isAdmin} />} />
          <Route path="classes/:classId" element={<ClassPage isAdmin={isAdmin} />} />
          <Route path="lessons/:lessonId" element={<LessonPage />} />
          <Route path="students" element={<StudentsPage isAdmin={isAdmin} />} />
          <Route path="students/:studentId" element={<StudentPage isAdmin={isAdmin} />} />
          <Route path="reports" element={<ReportsPage />} />
          {isAdmin && <Route path="kiosks" element={<KiosksPage />} />}
          {isAdmin && <Route path="audit" element={<AuditPage />} />}
          <Route path="*" element={<p>Nothing here. <NavLink to="/console/classes">Back to classes</NavLink></p>} />
        </Routes>
      </main>
      {state.status === "expired" && <SessionExpiredDialog email={state.user?.email} />}
    </div>
  );
}
