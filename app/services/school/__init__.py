"""The school's records: schools, students, classes, lessons, attendance, reports, imports and exports."""
