// Shared state of the running app, handed to every view.
import type { Me } from './api.js';
import type { Live } from './live.js';

export interface App {
  me: Me;
  live: Live;
}

/** A view renders into `el` and returns its cleanup. */
export type View = (app: App, params: Record<string, string>, el: HTMLElement) => (() => void) | void;
