/**
 * The guard PIN rule beyond its length (src/store/guards.ts pinTooEasy): a guard PIN can open the door and the
 * lock-out allows five tries, so the PINs tried first are refused — one digit repeated, a straight run up or down, a
 * run along the keyboard's digit row (0 after 9), a block of digits repeated — while ordinary PINs, including ones
 * with a repeat or a short run inside, are not.
 */
import { describe, expect, it } from 'vitest';
import { pinTooEasy } from '../../src/store/guards';

describe('guard PIN: too easy to guess', () => {
  it.each([
    ['111111', true],
    ['0000000000', true],
    ['123456', true],
    ['0123456789', true],
    ['987654', true],
    ['654321', true],
    ['121212', true],
    ['909090909', true],
    ['123123', true],
    ['112112112', true],
    // Hand check, stop 29: the keyboard's digit row (0 after 9) and longer blocks repeated were accepted.
    ['1234567890', true],
    ['567890', true],
    ['0987654321', true],
    ['098765', true],
    ['12341234', true],
    ['1234512345', true],
    ['2580258025', true],
    ['901234', false],
    ['12345678', true],
    ['12341235', false],
    ['135790', false],
    ['246802', false],
    ['314159', false],
    ['1287960', false],
    ['123457', false],
    ['111112', false],
    ['121213', false],
    ['20140502', false],
    ['890123', false],
  ])('%s → %s', (pin, easy) => {
    expect(pinTooEasy(pin)).toBe(easy);
  });
});
