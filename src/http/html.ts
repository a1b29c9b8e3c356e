/**
 * @module http/html
 * Text put into the status page's HTML and its SVG graphs: the five characters that could end an element or
 * an attribute become numeric references.
 */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
