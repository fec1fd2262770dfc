/**
 * What a guard PIN is made of, for the vault that stores it and the login form that will not send a try that can
 * never be right. The rule against easy PINs (repeats, runs, patterns) is the vault's: src/store/guards.ts.
 */
export const PIN_RULE = /^[0-9]{6,12}$/;

/** The longest guard display name the vault stores (characters after trimming). */
export const GUARD_NAME_MAX = 64;
