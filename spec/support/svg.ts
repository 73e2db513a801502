/**
 * Reads the SVG files that the demo and the bench draw, as a strict XML parser does: a file
 * a browser would refuse (an unescaped `&`, an unclosed tag) fails here too.
 */
import { DOMParser, onWarningStopParsing, type Element, type Node } from '@xmldom/xmldom';

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * The root `<svg>` of `text`.
 *
 * @throws {Error} when `text` is not well-formed XML, or its root is not an SVG element.
 */
export function parseSvg(text: string): Element {
  const doc = new DOMParser({ onError: onWarningStopParsing }).parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (root === null || root.localName !== 'svg' || root.namespaceURI !== SVG_NS) throw new Error('the root element is not an SVG <svg>');
  return root;
}

/** Every element under `root`, in document order. */
export function elements(root: Element): Element[] {
  const found: Element[] = [];
  const walk = (node: Node): void => {
    for (let child = node.firstChild; child !== null; child = child.nextSibling) {
      if (child.nodeType === child.ELEMENT_NODE) {
        found.push(child as Element);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}

/** The groups Plot drew for the mark with this `ariaDescription`: one series of a chart. */
export function series(root: Element, description: string): Element[] {
  return elements(root).filter((element) => element.getAttribute('aria-description') === description);
}

/** The text of an element's own `<title>` child, if it has one. */
export function titleOf(element: Element): string | undefined {
  for (let child = element.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === child.ELEMENT_NODE && (child as Element).localName === 'title') return child.textContent ?? '';
  }
  return undefined;
}

/** The text an element shows: its text content without that of its `<title>`. */
export function shownText(element: Element): string {
  let text = '';
  for (let child = element.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === child.TEXT_NODE) text += child.textContent ?? '';
    else if (child.nodeType === child.ELEMENT_NODE && (child as Element).localName !== 'title') text += shownText(child as Element);
  }
  return text;
}

/** The `<title>` texts of every element under `root` that has one. */
export function titles(root: Element): string[] {
  return elements(root).flatMap((element) => {
    const title = element.localName === 'title' ? undefined : titleOf(element);
    return title === undefined ? [] : [title];
  });
}

/** The elements under `root` whose `<title>` is `title`. */
export function titled(root: Element, title: string): Element[] {
  return elements(root).filter((element) => element.localName !== 'title' && titleOf(element) === title);
}

/** The shown text of the elements with this `aria-label` (the heading and subheading lines). */
export function labelled(root: Element, label: string): string[] {
  return elements(root)
    .filter((element) => element.getAttribute('aria-label') === label)
    .map(shownText);
}

/** The SVG with the elements that `drop` picks removed, as text again: a picture with a series missing. */
export function without(text: string, drop: (element: Element) => boolean): string {
  const root = parseSvg(text);
  for (const element of elements(root).filter(drop)) element.parentNode?.removeChild(element);
  return root.toString();
}
