"""Pure Plotly figure builders for the lecture's pictures, one module per kind of figure:

- `alignment`: the α heatmap of a whole translation, and the coverage Σ_i α_ij per source token;
- `decoder_step`: one step i (e_ij above α_ij, the context c_i, the next token's top-k, a class's guesses);
- `beam`: the beam search tree;
- `curves`: score by source length, and the training curves;
- `timeline`: the alignment emerging during training, animated;
- `style`: what they share (font, colours, escaping, token axes, the words in `LABELS`).

No Streamlit and no torch here: every function takes plain arrays and lists and returns a `go.Figure`,
so pages stay thin and tests can read values back from the figure spec.

Tokens repeat ("▁the" twice), and Plotly merges equal category labels, so a repeat gets a zero-width
space (`style.token_categories`); target axes are numeric (0..n-1) with the token text as `ticktext`.
Token text is user input and Plotly renders a subset of HTML in labels and hovers, so every token is
escaped once, in `style.escape`: `</s>` shows literally.
Every word a figure writes comes from `style.LABELS` (English), which the app replaces with its catalogue.
"""
