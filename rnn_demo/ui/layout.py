"""What holds on every screen a class uses: buttons a finger can hit.

The app's three sizes are a desktop (1400×1000), a projector (1280×720) and a
phone (390×844, touch); docs/teaching.md says what each gets. Streamlit draws a
button 40 px high; the main buttons of a page (Train, Stop, the lesson's
Back/Next) get :data:`TAP_TARGET_PX`, the height a finger hits reliably
(WCAG 2.5.5's target size, Apple's 44 pt).
"""

from __future__ import annotations

import streamlit as st

from rnn_demo.ui.markers import CSS_KEY_PREFIX

TAP_TARGET_PX = 44


def tap_targets(*keys: str) -> None:
    """Make the buttons in the elements keyed ``keys`` at least :data:`TAP_TARGET_PX` high."""
    selectors = ", ".join(f".{CSS_KEY_PREFIX}{key} button" for key in keys)
    st.html(f"<style>{selectors} {{ min-height: {TAP_TARGET_PX}px; }}</style>")
