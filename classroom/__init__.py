"""The lesson: a class guessing together, beside the model library (`seq2seq`) and the explorer (`ui`).

- `store`: the lesson's state in one SQLite file (the only state; every process reads and writes it);
- `values`: every value the store takes, checked;
- `question`: what the class sees of the lesson's current step, computed once per change;
- `push`: one broadcaster per lesson and process, fanning each change out to the students' streams;
- `routes`: the students' light page and its JSON and event-stream routes (Starlette, served by `st.App`);
- `record`: the lesson's results per step, for the teacher's download;
- `static/`: the students' page (plain HTML, CSS and JavaScript).
"""
