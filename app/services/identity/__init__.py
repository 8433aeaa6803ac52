"""Who is calling and what they may do: sign-in, kiosk keys, principals, access rules."""
