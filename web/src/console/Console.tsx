// The console's frame: signed-in gate, navigation by role, and the sign-in dialog when the session ends.

import { useEffect, useState, useSyncExternalStore } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { resumeSession, sessionState, signOut, subscribe } from "../api/session";
import { t, useLocale } from "../i18n";
import { LanguagePicker } from "../i18n/LanguagePicker";
import { AuditPage } from "./AuditPage";
import { ClassPage } from "./ClassPage";
import { ClassesPage } from "./ClassesPage";
import { KiosksPage } from "./KiosksPage";
import { LoginPage, SessionExpiredDialog } from "./Login";
import { NotificationsPage } from "./NotificationsPage";
import { ReportsPage } from "./ReportsPage";
import { SchoolPage } from "./SchoolPage";
import { LessonPage } from "./LessonPage";
import { StudentPage } from "./StudentPage";
import { StudentsPage } from "./StudentsPage";
import { UsersPage } from "./UsersPage";

export function Console() {
  useLocale(); // the whole console follows a change of language
  const state = useSyncExternalStore(subscribe, sessionState);
  const [resumed, setResumed] = useState(false);
  useEffect(() => {
    void resumeSession().finally(() => setResumed(true));
  }, []);
  if (!resumed)
    return (
      <main className="content">
        <p className="muted" role="status">
          {t("common.loading")}
        </p>
      </main>
    );
  if (state.status === "signed_out") return <LoginPage />;
  const user = state.user;
  const isAdmin = user?.role === "admin";
  return (
    <div className="console">
      <header className="topbar">
        <strong className="brand">Rollcall</strong>
        <nav aria-label={t("nav.label")}>
          <NavLink to="/console/classes">{t("nav.classes")}</NavLink>
          <NavLink to="/console/students">{t("nav.students")}</NavLink>
          <NavLink to="/console/reports">{t("nav.reports")}</NavLink>
          {isAdmin && <NavLink to="/console/kiosks">{t("nav.kiosks")}</NavLink>}
          {isAdmin && <NavLink to="/console/audit">{t("nav.audit")}</NavLink>}
          {isAdmin && <NavLink to="/console/users">{t("nav.users")}</NavLink>}
          {isAdmin && <NavLink to="/console/school">{t("nav.school")}</NavLink>}
          {isAdmin && <NavLink to="/console/notifications">{t("nav.notifications")}</NavLink>}
        </nav>
        <span className="who">
          <LanguagePicker className="light" />
          <span>
            {user?.full_name} ({user ? t(`role.${user.role}`) : ""})
          </span>
          <button type="button" className="link" onClick={() => void signOut()}>
            {t("nav.sign_out")}
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
          {isAdmin && <Route path="users" element={<UsersPage />} />}
          {isAdmin && <Route path="school" element={<SchoolPage />} />}
          {isAdmin && <Route path="notifications" element={<NotificationsPage />} />}
          <Route
            path="*"
            element={
              <p>
                {t("nav.nothing_here")} <NavLink to="/console/classes">{t("nav.back_to_classes")}</NavLink>
              </p>
            }
          />
        </Routes>
      </main>
      {state.status === "expired" && <SessionExpiredDialog email={state.user?.email} />}
    </div>
  );
}
