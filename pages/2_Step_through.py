"""Step through: decode one step at a time, see e, α and c with their numbers, and force another token."""

import streamlit as st

import app_ui as ui
from seq2seq import analysis, viz

# session_state keys: the stepping session is UI state of this browser session
SESSION, SESSION_ID, WHATIF, MESSAGE = "st_session", "st_session_id", "st_whatif", "st_message"
PICK = (
    "st_force_pick"  # the top-k picker: dropped when the step changes, so each step starts on its runner-up
)

settings = ui.page("Step through", "👣")
translator = settings.translator
st.title("👣 Step through")
st.caption(
    "The decoder writes one token per step. At step i it scores every encoder output h_j (energy e_ij), "
    "turns the scores into weights α_ij with a softmax, and reads the context c_i = Σ_j α_ij h_j. "
    "Press Next to take one step; force a different token to see how the rest changes."
)

text = ui.sentence_input()
top_k = st.slider("Candidates shown per step (top-k)", 3, 10, 5, key="st_topk")

ident = (str(settings.folder), text, top_k)
if st.session_state.get(SESSION_ID) != ident:
    try:
        st.session_state[SESSION] = translator.start(text, top_k)
    except ValueError as exc:
        st.session_state.pop(SESSION, None)
        st.session_state.pop(SESSION_ID, None)
        ui.show_error("Cannot start decoding this input", exc)
        st.stop()
    st.session_state[SESSION_ID] = ident
    st.session_state.pop(WHATIF, None)
    st.session_state.pop(PICK, None)
session = st.session_state[SESSION]


def act(action: str, max_len: int | None = None) -> None:
    """Button callbacks: they change the session before the page is drawn again."""
    current = st.session_state.get(SESSION)
    if current is None:
        return
    try:
        if action == "force" and current.steps:
            typed = (st.session_state.get("st_force_text") or "").strip()
            token = typed or st.session_state.get(PICK)
            if not token:
                raise ValueError("pick or type a token to force")
            # the view stays on the forced step; the what-if below shows both full translations
            st.session_state[WHATIF] = analysis.force_at(current, len(current.steps) - 1, token, max_len)
            return
        st.session_state.pop(PICK, None)  # another step: its own runner-up is the default again
        if action == "next" and not current.finished:
            current.step()
        elif action == "back" and current.steps:
            current.rewind(len(current.steps) - 1)
        elif action == "reset":
            current.rewind(0)
        elif action == "run":
            current.run(max_len)
        whatif = st.session_state.get(WHATIF)
        if whatif is not None and len(current.steps) <= whatif.step:  # stepped back past the forced token
            st.session_state.pop(WHATIF)
    except ValueError as exc:
        st.session_state[MESSAGE] = str(exc)


back, step_next, reset, run = st.columns(4)
back.button(
    "◀ Back", key="st_back", on_click=act, args=("back",), disabled=not session.steps, width="stretch"
)
step_next.button(
    "Next ▶",
    key="st_next",
    on_click=act,
    args=("next",),
    disabled=session.finished,
    type="primary",
    width="stretch",
)
reset.button("Reset", key="st_reset", on_click=act, args=("reset",), width="stretch")
run.button(
    "Run to end ⏭",
    key="st_run",
    on_click=act,
    args=("run", settings.max_len),
    disabled=session.finished,
    width="stretch",
)
if MESSAGE in st.session_state:
    ui.show_error("That did not work", ValueError(st.session_state.pop(MESSAGE)))
ui.show_warnings(session.warnings)

steps = session.steps
st.caption(
    f"Source ({len(session.src_tokens)} pieces): " + analysis.markdown_text(" ".join(session.src_tokens))
)
if not steps:
    st.info("Nothing decoded yet: press **Next ▶** for step 1, or **Run to end ⏭**.")
    st.stop()

step = steps[-1]
i = step.index
taken = session.pieces([step.token])[0]
status = "finished (</s>)" if session.finished else "in progress"
st.subheader(f"Step {i + 1}: wrote “{analysis.markdown_text(taken)}”" + (" (forced)" if step.forced else ""))
ui.big_text(session.text or "…", "1.5rem")
st.caption(f"{len(steps)} tokens so far, {status}: " + analysis.markdown_text(" ".join(session.tgt_tokens)))

bars_col, topk_col = st.columns([3, 2], gap="large")
with bars_col:
    st.plotly_chart(
        viz.step_bars(
            step.energies,
            step.weights,
            session.src_tokens,
            title=f"Step {i + 1}: energies e and weights α over the source",
        ),
        key="st_bars",
    )
with topk_col:
    st.plotly_chart(
        viz.topk_bar(session.pieces(step.top_ids), step.top_probs, chosen=taken), key="st_topk_bar"
    )
    st.caption(
        f"p(“{analysis.markdown_text(taken)}”) = {step.prob:.3f}. The decoder takes the most likely token unless you force one."
    )
st.plotly_chart(
    viz.context_strip(step.context, title=f"c_{i + 1}: the context vector the decoder reads"),
    key="st_context",
)

if step.weights is not None:
    st.markdown(
        "**The lecture's formulas with this step's numbers** (the three most-attended source tokens):"
    )
    for line in analysis.step_equations(step, session.src_tokens, k=3):
        st.latex(line)
    st.dataframe(analysis.top_sources(step, session.src_tokens, k=5), hide_index=True, key="st_top_sources")
    st.plotly_chart(
        viz.attention_heatmap(
            session.attention,
            session.src_tokens,
            session.tgt_tokens,
            highlight_row=i,
            title="Attention so far (current step framed)",
        ),
        key="st_heatmap",
    )
else:
    st.info(ui.NO_ATTENTION)

st.header("What if…?")
st.caption(
    f"Replace the token of step {i + 1} (“{analysis.markdown_text(taken)}”) with another one; decoding continues greedily from "
    "there. The original and the forced translation appear side by side with their attention."
)
options = session.pieces(step.top_ids)
pick_col, type_col, force_col = st.columns([2, 2, 1], vertical_alignment="bottom")
pick_col.selectbox("Force one of the top-k", options, index=min(1, len(options) - 1), key=PICK)
type_col.text_input(
    "…or type a token (overrides the pick)", key="st_force_text", max_chars=50, placeholder="e.g. 파일"
)
force_col.button("Force", key="st_force", on_click=act, args=("force", settings.max_len), width="stretch")

whatif = st.session_state.get(WHATIF)
if whatif is not None:
    st.markdown(
        f"At step {whatif.step + 1}: **{analysis.markdown_text(whatif.original_token)}** → "
        f"**{analysis.markdown_text(whatif.forced_token)}**"
    )
    st.caption(
        f"The stepper follows the forced path: step {whatif.step + 1} took the forced token, and Next ▶ "
        "goes on along the forced translation. Both full translations, with their attention:"
    )
    original_col, forced_col = st.columns(2, gap="large")
    for column, label, snap, key in (
        (original_col, "Original (greedy)", whatif.original, "st_original_heatmap"),
        (forced_col, "Forced", whatif.forced, "st_forced_heatmap"),
    ):
        with column:
            st.markdown(f"**{label}**")
            ui.big_text(snap.text, "1.3rem")
            if snap.attention is not None:
                st.plotly_chart(
                    viz.attention_heatmap(
                        snap.attention,
                        session.src_tokens,
                        snap.tgt_tokens,
                        highlight_row=whatif.step,
                        title=f"Attention, {label.lower()}",
                    ),
                    key=key,
                )
