"""Operational jobs: ``python -m app.jobs <command>`` (retention, rotate-key, backup, restore, rebuild-index).

The logic lives in ``app.services`` (retention, keyrotation, backup, vector_index) and is tested there; this
package only builds the stores from the settings (``context``) and prints reports (``__main__``).
"""
