"""The rating web app: server-rendered pages for raters (login, rate) and admins (raters, jobs)."""
