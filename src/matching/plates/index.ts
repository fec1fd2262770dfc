/**
 * Public surface of plate matching (pure functions only): normalisation, confusion-weighted distance, region
 * formats and plate-likeness, multi-frame voting and the access decision. Nothing here touches pixels, models,
 * storage or the clock.
 */
export * from './normalise';
export * from './confusion';
export * from './formats';
export * from './voting';
export * from './decide';
export * from './plate-index';
