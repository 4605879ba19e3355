// One Plotly figure, drawn by plotly.js's cartesian bundle (heatmap, scatter, bar and the
// animation frames the lesson steps through). That bundle is a third of the full plotly.js that
// st.plotly_chart loads, and a first visit waits on the browser evaluating it
// (docs/performance.md). The component renders in the page itself, not in a shadow root,
// so Plotly's own style sheet and the app's font reach the chart.
import "./plotly-cartesian-4.1.1.min.js"; // its version in its name: cached for a year (rnn_demo/ui/charts.py)

const Plotly = window.Plotly;
const CONFIG = { displaylogo: false };
// What the app's light theme sets where a figure leaves it to its template (plotly_white): the
// font of the page, text in the colour of its captions (5.0:1 on white, .streamlit/config.toml),
// titles in its text colour, and room between the axes and their labels.
const TEXT = "#0b0f1a";
const GRID = "#e6eaf1";
const THEME = {
  font: { family: '"Source Sans", sans-serif', color: "#6d6f76" },
  title: { font: { color: TEXT }, pad: { l: 4 } },
  hoverlabel: { bgcolor: "#ffffff", bordercolor: "rgba(11, 15, 26, 0.2)", font: { color: TEXT } },
  margin: { pad: 8 },
  xaxis: { showgrid: false, zeroline: false, gridcolor: GRID, zerolinecolor: GRID, title: { standoff: 20 } },
  yaxis: { gridcolor: GRID, zerolinecolor: GRID, title: { standoff: 24 }, ticklabelposition: "outside" },
  legend: { bordercolor: "transparent", title: { side: "top" }, valign: "top" },
};
const charts = new WeakMap(); // the component's element -> its chart (chartIn)

function merged(base, over) {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const plain = value && typeof value === "object" && !Array.isArray(value);
    out[key] = plain && base?.[key] && typeof base[key] === "object" ? merged(base[key], value) : value;
  }
  return out;
}

function themed(layout) {
  const template = (layout.template ??= {});
  template.layout = merged(template.layout ?? {}, THEME);
  return layout;
}

function chartIn(parentElement) {
  let chart = charts.get(parentElement);
  if (chart) return chart;
  const frame = parentElement.querySelector(".rnn-chart");
  const plot = document.createElement("div");
  frame.appendChild(plot);
  chart = { frame, plot, width: undefined, observer: undefined, next: undefined, resize: false, drawing: undefined, gone: false };
  // Redraw when the column changes width (a window resized, the sidebar opened); the first
  // report is the width the chart is first drawn at, not a change.
  chart.observer = new ResizeObserver(([entry]) => {
    const width = Math.round(entry.contentRect.width);
    const changed = chart.width !== undefined && width !== chart.width;
    chart.width = width;
    if (changed && width > 0) {
      chart.resize = true;
      draw(chart);
    }
  });
  chart.observer.observe(frame);
  charts.set(parentElement, chart);
  return chart;
}

// Draws one figure, or one resize, at a time: a plot that is drawn again, resized or purged
// while Plotly is still drawing it (its automargin redraws run after the call returns) fails
// inside Plotly. A figure that comes meanwhile waits, and only the latest one waiting is drawn.
function draw(chart) {
  chart.drawing ??= drawWaiting(chart).finally(() => {
    chart.drawing = undefined;
  });
}

async function drawWaiting(chart) {
  while (!chart.gone && (chart.next || chart.resize)) {
    const next = chart.next;
    const resize = chart.resize;
    chart.next = undefined;
    chart.resize = false;
    try {
      if (next) await Plotly.react(chart.plot, next);
      if (resize) await Plotly.Plots.resize(chart.plot);
    } catch (error) {
      console.error("The chart could not be drawn", error);
    }
  }
}

export default function ({ parentElement, data }) {
  const { alt, figure } = JSON.parse(new TextDecoder().decode(data));
  const chart = chartIn(parentElement);
  chart.frame.setAttribute("aria-label", alt);
  const layout = themed(figure.layout ?? {});
  if (layout.height) chart.frame.style.minHeight = `${layout.height}px`;
  chart.next = { data: figure.data ?? [], layout, frames: figure.frames ?? [], config: CONFIG };
  draw(chart);
  return () => {
    chart.gone = true;
    chart.observer.disconnect();
    charts.delete(parentElement);
    Promise.resolve(chart.drawing).then(() => Plotly.purge(chart.plot));
  };
}
