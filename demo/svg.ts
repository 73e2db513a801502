/**
 * Draws an Observable Plot figure as a standalone SVG file's text, in Node: no browser and
 * no network. The demo's timeline and the bench's charts both go through here.
 *
 * Plot builds its SVG with a DOM document; linkedom is a small DOM for servers, enough for
 * what Plot calls (createElementNS, setAttribute, append).
 */
import * as Plot from '@observablehq/plot';
import { DOMParser } from 'linkedom';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A figure: Plot's options, plus what a standalone file needs around them. */
export interface FigureOptions extends Plot.PlotOptions {
  /** The figure's title, drawn in the SVG (Plot's own title is HTML around it). */
  heading: string;
  /** Lines under the title: what to look at. */
  subheading?: string[];
  /** Says in one sentence what the figure shows, for screen readers (`<desc>`). */
  description: string;
  /** The height of the plot, px, without the title block above it. */
  height: number;
}

/** Height of the title, and of each line under it, px. */
const HEADING_PX = 28;
const LINE_PX = 16;

/**
 * Plots `options` and returns the SVG as XML text.
 *
 * The file gets a white background and a dark text colour of its own: shown as an image
 * on a dark page, Plot's `currentColor` would otherwise be black on black.
 */
export function renderSvg(options: FigureOptions): string {
  const { heading, subheading, description, ...plotOptions } = options;
  const document = new DOMParser().parseFromString('<!DOCTYPE html><html><body></body></html>', 'text/html');
  const lines = subheading ?? [];
  const above = HEADING_PX + LINE_PX * lines.length;
  const svg = Plot.plot({ ...plotOptions, marginTop: (plotOptions.marginTop ?? 20) + above, height: plotOptions.height + above, document });
  if (svg.tagName.toLowerCase() !== 'svg') {
    // A legend or Plot's own title wraps the SVG in an HTML <figure>: not a standalone file.
    throw new Error('renderSvg draws one <svg>: use heading, and marks instead of legends');
  }
  const width = Number(svg.getAttribute('width'));
  const height = Number(svg.getAttribute('height'));
  svg.setAttribute('xmlns', SVG_NS);
  svg.setAttribute('role', 'img');
  svg.setAttribute('color', '#1f2328');

  const make = (name: string, attributes: Record<string, string | number>, text?: string) => {
    const element = svg.ownerDocument.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  };
  const first = svg.firstChild;
  svg.insertBefore(make('title', {}, heading), first);
  svg.insertBefore(make('desc', {}, description), first);
  svg.insertBefore(make('rect', { width, height, fill: 'white' }), first);
  svg.appendChild(make('text', { x: 12, y: 22, 'font-size': 15, 'font-weight': 'bold', 'text-anchor': 'start', 'aria-label': 'heading' }, heading));
  lines.forEach((line, index) => {
    const y = HEADING_PX + 12 + index * LINE_PX;
    svg.appendChild(make('text', { x: 12, y, 'font-size': 11, 'text-anchor': 'start', fill: '#57606a', 'aria-label': 'subheading' }, line));
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.toString()}\n`;
}
