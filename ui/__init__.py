"""The Streamlit side: the shared loader and sidebar (`shared`), the interface language (`i18n`), safe text (`text`)."""
