"""Who is who in a lesson: this browser's random id, kept in a cookie the app sets, so a reload, a new
tab or a server restart is the same student (one vote) and the same teacher. No name, no account; a
private window or another browser is a new one (README: In a lecture hall)."""

from __future__ import annotations

import streamlit as st

from classroom.values import BROWSER_COOKIE, COOKIE_DAYS, is_browser_id, new_student_id

BROWSER, BROWSER_KEPT = "_browser", "_browser_kept"


def browser_id() -> str:
    """This browser's random id: from its cookie when it has one (a reload, a new tab, a restarted
    server), else a new one that `keep_browser_id` writes into the cookie."""
    state = st.session_state
    if BROWSER not in state:
        try:
            kept = st.context.cookies.get(BROWSER_COOKIE)
        except Exception:  # noqa: BLE001 - no request to read cookies from (a test harness): a new id
            kept = None
        state[BROWSER], state[BROWSER_KEPT] = (
            (kept, True) if is_browser_id(kept) else (new_student_id(), False)
        )
    return state[BROWSER]


# The id is 32 hex characters (checked): nothing else goes into the script. If another tab of this
# browser wrote its own id first, this tab reloads once to take that one (the server reads the cookie of
# a new connection); the script then removes itself, so the id is not left in the page.
KEEP_ID_JS = """<script>(() => {{
  const id = "{id}", kept = (document.cookie.match(/(?:^|;\\s*){name}=([0-9a-f]{{32}})/) || [])[1];
  if (!kept) document.cookie = "{name}=" + id + "; Path=/; Max-Age={age}; SameSite=Lax";
  else if (kept !== id && !sessionStorage.getItem("{name}_reloaded")) {{
    sessionStorage.setItem("{name}_reloaded", "1"); location.reload();
  }}
  if (document.currentScript) document.currentScript.remove();
}})();</script>"""


def keep_browser_id() -> None:
    """Write this session's new browser id into the browser's cookie (once a session: a cookie the server
    already read needs nothing). The cookie is the app's own: SameSite, this server's path, a year."""
    if BROWSER not in st.session_state or st.session_state.get(BROWSER_KEPT):
        return
    browser = st.session_state[BROWSER]
    if not is_browser_id(browser):
        return
    script = KEEP_ID_JS.format(id=browser, name=BROWSER_COOKIE, age=COOKIE_DAYS * 24 * 3600)
    st.sidebar.html(script, unsafe_allow_javascript=True)
