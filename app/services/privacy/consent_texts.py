"""The consent texts, by version: what a student (or their guardian) agrees to before any face is stored.

``Settings.consent_version`` names the text enrollment requires; a consent records the version agreed to.
A new version is added here (never edited in place: a recorded consent must keep meaning what was agreed),
then the setting is moved to it. docs/PRIVACY.md quotes these texts; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConsentText:
    version: str
    title: str
    body: str
    #: The text tells that each enrollment photo's aligned face crop is kept (sealed), so that a new
    #: recognition model can re-compute the templates without new photos (``services.enrollment.reembed``).
    keeps_crops: bool = False


CONSENT_TEXTS: dict[str, ConsentText] = {
    "2026-1": ConsentText(
        version="2026-1",
        title="Consent to face recognition for attendance",
        body=(
            "The school records attendance with Rollcall. With this consent, the student can check in by "
            "looking at the classroom kiosk camera instead of being marked by the teacher or using a code.\n"
            "\n"
            "What is stored: from 3 to 5 photos taken at enrollment, a face template (a list of numbers "
            "computed from the face) is made and stored encrypted; the photos themselves are not kept. "
            "Kiosk camera frames are used for the check-in and then discarded.\n"
            "Who can see it: nobody can view a template; the school's administrators manage enrollment.\n"
            "How long: until this consent is withdrawn, the student leaves the school, or the school "
            "erases the student's data, whichever comes first; then the templates are deleted from every "
            "store within a day.\n"
            "Your choice: consent is voluntary. Without it, or after withdrawing it, attendance is taken "
            "by the teacher or with a one-time code, with no disadvantage to the student. Consent can be "
            "withdrawn at any time, by the student (if an adult) or the guardian, in the app or at the "
            "school office, and the face data is erased at once.\n"
            "Your rights: to see and receive a copy of the data held about the student, to have it "
            "corrected or erased, and to complain to the data protection authority. Contact the school's "
            "data protection officer for any of these."
        ),
    ),
    "2026-2": ConsentText(
        version="2026-2",
        title="Consent to face recognition for attendance",
        body=(
            "The school records attendance with Rollcall. With this consent, the student can check in by "
            "looking at the classroom kiosk camera instead of being marked by the teacher or using a code.\n"
            "\n"
            "What is stored: from 3 to 5 photos taken at enrollment, a face template (a list of numbers "
            "computed from the face) is made and stored encrypted. Of each photo only a small image of the "
            "face itself (112 by 112 pixels, cut out and straightened) is kept, encrypted like the "
            "template, for one purpose: computing the templates again when the school updates the "
            "recognition software, so that the student need not be photographed again. The rest of each "
            "photo is not kept. Kiosk camera frames are used for the check-in and then discarded.\n"
            "Who can see it: nobody can view a template or these face images; the school's administrators "
            "manage enrollment.\n"
            "How long: until this consent is withdrawn, the student leaves the school, or the school "
            "erases the student's data, whichever comes first; then the templates and face images are "
            "deleted from every store within a day.\n"
            "Your choice: consent is voluntary. Without it, or after withdrawing it, attendance is taken "
            "by the teacher or with a one-time code, with no disadvantage to the student. Consent can be "
            "withdrawn at any time, by the student (if an adult) or the guardian, in the app or at the "
            "school office, and the face data is erased at once.\n"
            "Your rights: to see and receive a copy of the data held about the student, to have it "
            "corrected or erased, and to complain to the data protection authority. Contact the school's "
            "data protection officer for any of these."
        ),
        keeps_crops=True,
    ),
}


def text_of(version: str) -> ConsentText | None:
    return CONSENT_TEXTS.get(version)
