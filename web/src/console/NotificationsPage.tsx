// The school's notifications (admins): quiet hours and the default language of messages, the school-wide
// contacts, and the dead letters (messages every attempt failed to deliver), which can be sent again.

import { useState, type FormEvent } from "react";
import { api } from "../api/session";
import type { ContactPublic, DeliveryPublic, NotificationSettings, NotificationSettingsUpdate } from "../api/types";
import { t } from "../i18n";
import { ErrorNote, LoadState, TableScroll, formatTime, useAction, useApi } from "../ui/common";
import { ContactsSection, LanguageSelect, inWords } from "./ContactsSection";

export function NotificationsPage() {
  const settings = useApi<NotificationSettings>("/v1/notifications/settings");
  return (
    <section>
      <h1>{t("notify.title")}</h1>
      <LoadState state={settings}>{(loaded) => <SettingsForm settings={loaded} onSaved={settings.reload} />}</LoadState>
      <ContactsSection />
      <DeadLetters />
    </section>
  );
}

/** "22:00:00" from the API as an <input type="time"> value ("22:00"). */
const hhmm = (time: string | null | undefined) => (time ? time.slice(0, 5) : "");

function SettingsForm({ settings, onSaved }: { settings: NotificationSettings; onSaved: () => void }) {
  const [quiet, setQuiet] = useState(Boolean(settings.quiet_start && settings.quiet_end));
  const [start, setStart] = useState(hhmm(settings.quiet_start));
  const [end, setEnd] = useState(hhmm(settings.quiet_end));
  const [language, setLanguage] = useState(settings.language);
  const [saved, setSaved] = useState(false);
  const { run, error } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    // Both or neither, as the API wants them.
    const body: NotificationSettingsUpdate = quiet ? { quiet_start: start, quiet_end: end, language } : { quiet_start: null, quiet_end: null, language };
    await run(async () => {
      await api<NotificationSettings>("/v1/notifications/settings", { method: "PUT", json: body });
      setSaved(true);
      onSaved();
    });
  };
  return (
    <form className="inline-form box" aria-label={t("notify.settings_title")} onSubmit={(e) => void submit(e)}>
      <h2>{t("notify.settings_title")}</h2>
      <p className="small muted full">{t("notify.quiet_note")}</p>
      <label className="check">
        <input type="checkbox" checked={!quiet} onChange={(e) => setQuiet(!e.target.checked)} /> {t("notify.no_quiet")}
      </label>
      <label>
        {t("notify.quiet_start")} <input type="time" value={start} onChange={(e) => setStart(e.target.value)} disabled={!quiet} required={quiet} />
      </label>
      <label>
        {t("notify.quiet_end")} <input type="time" value={end} onChange={(e) => setEnd(e.target.value)} disabled={!quiet} required={quiet} />
      </label>
      <LanguageSelect label={t("notify.language")} value={language} onChange={setLanguage} />
      <button type="submit" className="primary">
        {t("common.save")}
      </button>
      <ErrorNote error={error} />
      {saved && (
        <p className="full" role="status">
          {t("notify.saved")}
        </p>
      )}
    </form>
  );
}

function DeadLetters() {
  const dead = useApi<DeliveryPublic[]>("/v1/notifications/deliveries", { status: "dead" });
  // Deliveries name their contact by id only.
  const contacts = useApi<ContactPublic[]>("/v1/notifications/contacts");
  const [done, setDone] = useState<string | null>(null);
  const { run, error } = useAction();
  const nameOf = (delivery: DeliveryPublic) =>
    contacts.data?.find((contact) => contact.id === delivery.contact_id)?.name ?? t("notify.removed_contact");
  const retry = async (delivery: DeliveryPublic) => {
    setDone(null);
    await run(async () => {
      await api<DeliveryPublic>(`/v1/notifications/deliveries/${delivery.id}/retry`, { method: "POST" });
      setDone(t("notify.retried", { name: nameOf(delivery) }));
      dead.reload();
    });
  };
  return (
    <div className="box">
      <h2>{t("notify.dead_title")}</h2>
      <p className="small muted">{t("notify.dead_note")}</p>
      <LoadState state={dead}>
        {(deliveries) =>
          deliveries.length === 0 ? (
            <p className="muted">{t("notify.dead_none")}</p>
          ) : (
            <TableScroll label={t("notify.dead_title")}>
              <table aria-label={t("notify.dead_title")}>
                <thead>
                  <tr>
                    <th scope="col">{t("notify.contact")}</th>
                    <th scope="col">{t("notify.channel")}</th>
                    <th scope="col">{t("notify.attempts")}</th>
                    <th scope="col">{t("notify.last_error")}</th>
                    <th scope="col">{t("notify.when")}</th>
                    <th scope="col">
                      <span className="visually-hidden">{t("lesson.actions")}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {deliveries.map((delivery) => (
                    <tr key={delivery.id}>
                      <th scope="row">{nameOf(delivery)}</th>
                      <td>{inWords([delivery.channel], "channel")}</td>
                      <td>{delivery.attempts}</td>
                      <td className="mono">{delivery.last_error ?? ""}</td>
                      <td>{formatTime(delivery.created_at)}</td>
                      <td>
                        <button
                          type="button"
                          aria-label={t("notify.retry_named", { name: nameOf(delivery) })}
                          onClick={() => void retry(delivery)}
                        >
                          {t("notify.retry")}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )
        }
      </LoadState>
      {done && <p role="status">{done}</p>}
      <ErrorNote error={error} />
    </div>
  );
}
