export { FlameGraph, type FlameGraphOptions, type FlameInput, type DrawStats } from './flamegraph.js';
export { TreeBuilder, treeFromFolded, checkTree, type FrameTree, type FoldedInput } from './tree.js';
export { layout, type Layout } from './layout.js';
export { toFolded, toSpeedscope } from './export.js';
export { compilePattern, search } from './search.js';
export { withoutRoot } from './process-root.js';
