// Who gets the school's notifications (admins): a student's guardians, or, without a student, the
// school-wide endpoints (the office's mailbox, the information system's webhook). A webhook's signing secret
// comes back once, when it is set, and is shown here that once.

import { useId, useState, type FormEvent } from "react";
import { api } from "../api/session";
import type { Channel, ContactCreate, ContactCreated, ContactPublic, ContactUpdate, Topic } from "../api/types";
import { LANGUAGE_NAMES, LOCALES, t, wordFor } from "../i18n";
import { ConfirmDialog, ErrorNote, LoadState, useAction, useApi } from "../ui/common";

const CHANNELS = ["email", "sms", "push", "webhook"] as const satisfies readonly Channel[];
const TOPICS = ["arrival", "absence", "correction", "lesson", "summary"] as const satisfies readonly Topic[];
/** The form's address inputs, by the API's field names. */
const ADDRESSES = ["email", "phone", "push_topic", "webhook_url"] as const;
type Address = (typeof ADDRESSES)[number];
/** The address each channel sends to (the API refuses a channel without it). */
const ADDRESS_OF: Record<Channel, Address> = { email: "email", sms: "phone", push: "push_topic", webhook: "webhook_url" };

interface Fields extends Record<Address, string> {
  name: string;
  language: string;
  channels: Channel[];
  topics: Topic[];
}

const NEW_CONTACT: Fields = {
  name: "",
  email: "",
  phone: "",
  push_topic: "",
  webhook_url: "",
  language: "en",
  channels: ["email"],
  topics: ["absence"],
};

function fieldsOf(contact: ContactPublic): Fields {
  return {
    name: contact.name,
    email: contact.email ?? "",
    phone: contact.phone ?? "",
    push_topic: contact.push_topic ?? "",
    webhook_url: contact.webhook_url ?? "",
    language: contact.language,
    channels: contact.channels as Channel[],
    topics: contact.topics as Topic[],
  };
}

const languageName = (code: string) => LANGUAGE_NAMES[code as keyof typeof LANGUAGE_NAMES] ?? code;

/** A message language: the console's languages (each in its own words), and a contact's other one if it has
 * one (the API takes any two-letter code; messages fall back to English). */
export function LanguageSelect(props: { label: string; value: string; onChange: (language: string) => void }) {
  const languages: string[] = LOCALES.includes(props.value as (typeof LOCALES)[number]) ? LOCALES : [...LOCALES, props.value];
  return (
    <label>
      {props.label}{" "}
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {languages.map((code) => (
          <option key={code} value={code}>
            {languageName(code)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Channels or topics in words; one this console does not know yet is shown as it is. */
export function inWords(values: string[], area: "channel" | "topic"): string {
  if (values.length === 0) return t("contacts.nothing");
  return values.map((value) => wordFor(`contacts.${area}`, value)).join(", ");
}

export function ContactsSection({ studentId }: { studentId?: string }) {
  const contacts = useApi<ContactPublic[]>("/v1/notifications/contacts", studentId ? { student_id: studentId } : undefined);
  // The API has no filter for "neither a student nor a user": the school-wide ones are picked out here.
  const mine = (all: ContactPublic[]) => (studentId ? all : all.filter((c) => c.student_id === null && c.user_id === null));
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [removing, setRemoving] = useState<ContactPublic | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const { run, error, setError } = useAction();
  const headingId = useId();

  const saved = (contact: ContactCreated, message: "contacts.added" | "contacts.saved") => {
    setSecret(contact.webhook_secret ? { name: contact.name, secret: contact.webhook_secret } : null);
    setDone(t(message, { name: contact.name }));
    setError(null);
    contacts.reload();
  };
  const add = async (fields: Fields) => {
    const body: ContactCreate = {
      name: fields.name,
      language: fields.language,
      channels: fields.channels,
      topics: fields.topics,
      ...(studentId ? { student_id: studentId } : {}),
    };
    for (const address of ADDRESSES) if (fields[address].trim()) body[address] = fields[address].trim();
    saved(await api<ContactCreated>("/v1/notifications/contacts", { json: body }), "contacts.added");
  };
  const update = async (contact: ContactPublic, fields: Fields) => {
    // Only what changed: an unchanged webhook URL sent again would get a new secret.
    const before = fieldsOf(contact);
    const body: ContactUpdate = {};
    if (fields.name !== before.name) body.name = fields.name;
    if (fields.language !== before.language) body.language = fields.language;
    for (const address of ADDRESSES) {
      if (fields[address].trim() !== before[address]) body[address] = fields[address].trim() || null;
    }
    if ([...fields.channels].sort().join() !== [...before.channels].sort().join()) body.channels = fields.channels;
    if ([...fields.topics].sort().join() !== [...before.topics].sort().join()) body.topics = fields.topics;
    saved(await api<ContactCreated>(`/v1/notifications/contacts/${contact.id}`, { method: "PATCH", json: body }), "contacts.saved");
    setEditing(null);
  };
  const remove = async (contact: ContactPublic) => {
    setRemoving(null);
    setDone(null);
    await run(async () => {
      await api(`/v1/notifications/contacts/${contact.id}`, { method: "DELETE", expect: "none" });
      setDone(t("contacts.removed", { name: contact.name }));
      contacts.reload();
    });
  };

  return (
    <section className="box" aria-labelledby={headingId}>
      <h2 id={headingId}>{t(studentId ? "contacts.guardian_title" : "contacts.school_title")}</h2>
      <LoadState state={contacts}>
        {(all) =>
          mine(all).length === 0 ? (
            <p className="muted">{t("contacts.none")}</p>
          ) : (
            <ul className="list contacts">
              {mine(all).map((contact) => (
                <li key={contact.id}>
                  <strong>{contact.name}</strong>{" "}
                  <span className="mono">
                    {ADDRESSES.map((address) => contact[address])
                      .filter(Boolean)
                      .join(" · ")}
                  </span>
                  <br />
                  <span className="small">
                    {t("contacts.language_line", { language: languageName(contact.language) })} ·{" "}
                    {t("contacts.channels_line", { list: inWords(contact.channels, "channel") })} ·{" "}
                    {t("contacts.topics_line", { list: inWords(contact.topics, "topic") })}
                  </span>{" "}
                  <button
                    type="button"
                    className="link"
                    aria-label={t("contacts.edit_named", { name: contact.name })}
                    aria-expanded={editing === contact.id}
                    onClick={() => setEditing(editing === contact.id ? null : contact.id)}
                  >
                    {t("contacts.edit")}
                  </button>
                  <button
                    type="button"
                    className="link danger"
                    aria-label={t("contacts.remove_named", { name: contact.name })}
                    onClick={() => setRemoving(contact)}
                  >
                    {t("contacts.remove")}
                  </button>
                  {editing === contact.id && (
                    <ContactForm
                      label={t("contacts.edit_form", { name: contact.name })}
                      submitLabel={t("common.save")}
                      initial={fieldsOf(contact)}
                      webhook={!studentId}
                      onSave={(fields) => update(contact, fields)}
                      onCancel={() => setEditing(null)}
                    />
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </LoadState>
      {done && <p role="status">{done}</p>}
      <ErrorNote error={error} />
      {secret && (
        <div className="note ok" role="status">
          <p>{t("contacts.secret_once", { name: secret.name })}</p>
          <code className="secret" data-testid="webhook-secret">
            {secret.secret}
          </code>
        </div>
      )}
      <ContactForm
        heading={t("contacts.add")}
        label={t("contacts.add")}
        submitLabel={t("contacts.add")}
        initial={NEW_CONTACT}
        webhook={!studentId}
        onSave={add}
      />
      {removing && (
        <ConfirmDialog
          title={t("contacts.remove_title", { name: removing.name })}
          confirmLabel={t("contacts.remove")}
          danger
          onConfirm={() => void remove(removing)}
          onCancel={() => setRemoving(null)}
        >
          <p>{t("contacts.remove_text")}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/** A new contact, or the changes to one; ``webhook``: the school-wide variant, which may post to a URL. */
function ContactForm(props: {
  heading?: string;
  label: string;
  submitLabel: string;
  initial: Fields;
  webhook: boolean;
  onSave: (fields: Fields) => Promise<void>;
  onCancel?: () => void;
}) {
  const [fields, setFields] = useState(props.initial);
  const { run, error } = useAction();
  const hintId = useId();
  const set = (changes: Partial<Fields>) => setFields((current) => ({ ...current, ...changes }));
  const toggle = <V extends string>(list: V[], value: V, on: boolean) => (on ? [...list, value] : list.filter((v) => v !== value));
  const channels = CHANNELS.filter((channel) => props.webhook || channel !== "webhook");
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      await props.onSave(fields);
      if (!props.onCancel) setFields(props.initial); // a new one: the form is ready for the next
    });
  };
  // An address is required while its channel is ticked (the browser says so before the API would).
  const addressInput = (address: Address, type: string, extra: object = {}) => (
    <input
      type={type}
      value={fields[address]}
      onChange={(e) => set({ [address]: e.target.value })}
      required={fields.channels.some((channel) => ADDRESS_OF[channel] === address)}
      {...extra}
    />
  );
  return (
    <form className="inline-form contact-form" aria-label={props.label} onSubmit={(e) => void submit(e)}>
      {props.heading && <h3>{props.heading}</h3>}
      <label>
        {t("contacts.name")} <input value={fields.name} onChange={(e) => set({ name: e.target.value })} maxLength={200} required />
      </label>
      <label>
        {t("contacts.email")} {addressInput("email", "email", { autoComplete: "off" })}
      </label>
      <div className="field">
        <label>
          {t("contacts.phone")}{" "}
          {addressInput("phone", "tel", { pattern: "\\+[1-9][0-9]{6,14}", placeholder: "+33612345678", "aria-describedby": hintId })}
        </label>
        <span className="small muted" id={hintId}>
          {t("contacts.phone_hint")}
        </span>
      </div>
      <label>
        {t("contacts.push_topic")} {addressInput("push_topic", "text", { pattern: "[A-Za-z0-9_\\-]{8,64}" })}
      </label>
      {props.webhook && (
        <label>
          {t("contacts.webhook_url")} {addressInput("webhook_url", "url", { placeholder: "https://" })}
        </label>
      )}
      <LanguageSelect label={t("contacts.language")} value={fields.language} onChange={(language) => set({ language })} />
      <fieldset className="checks">
        <legend>{t("contacts.channels")}</legend>
        {channels.map((channel) => (
          <label key={channel}>
            <input
              type="checkbox"
              checked={fields.channels.includes(channel)}
              onChange={(e) => set({ channels: toggle(fields.channels, channel, e.target.checked) })}
            />{" "}
            {t(`contacts.channel.${channel}`)}
          </label>
        ))}
      </fieldset>
      <fieldset className="checks">
        <legend>{t("contacts.topics")}</legend>
        {TOPICS.map((topic) => (
          <label key={topic}>
            <input
              type="checkbox"
              checked={fields.topics.includes(topic)}
              onChange={(e) => set({ topics: toggle(fields.topics, topic, e.target.checked) })}
            />{" "}
            {t(`contacts.topic.${topic}`)}
          </label>
        ))}
      </fieldset>
      <button type="submit" className="primary">
        {props.submitLabel}
      </button>
      {props.onCancel && (
        <button type="button" onClick={props.onCancel}>
          {t("common.cancel")}
        </button>
      )}
      <ErrorNote error={error} />
    </form>
  );
}
