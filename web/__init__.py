"""The web dashboard (督办看板): server-rendered pages for logged-in officials."""
