"""Careers staff pages under /staff, served by the same `careers-assistant serve` process.

Layout (who builds what):
  base.py      the contract every staff page relies on: the signed-in user and CSRF token on
               request.state (set by the session middleware in auth), and the page shell
  auth.py ...  accounts, password hashing, sessions, CSRF, sign-in throttling, audit log  (core)
  sources.py   the Sources page; uploads.py (store/replace/delete pages), rebuild.py (the background
               build), sourcelist.py and buildpanel.py (what the page shows)                  (sources)
  reports/     overview, unanswered, feedback, coverage, FAQ check                     (reports)
"""
