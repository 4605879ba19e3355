"""What the pages show, as pure functions of arrays: Plotly figures, HTML panels, teaching texts."""
