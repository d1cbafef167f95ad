"""The server: the explorer (app.py, Streamlit) and the students' light page (classroom.routes) in one
process. `streamlit run serve.py` finds `app` and serves both; `make app` and `make classroom` do that."""

import streamlit as st

from classroom.routes import Classroom

classroom = Classroom()
app = st.App("app.py", routes=classroom.routes(), lifespan=classroom.lifespan)
