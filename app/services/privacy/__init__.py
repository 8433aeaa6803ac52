"""Consent, erasure, retention, access and portability, FERPA disclosures, and the audit trail."""
