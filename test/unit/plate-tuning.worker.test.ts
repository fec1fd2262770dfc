/**
 * The plate pipeline's benchmark overrides (PlateTuning) are checked before the worker loads anything: an unknown
 * or mistyped knob is CONFIG_INVALID naming `tuning.<field>`, never silently the default or a NaN-disabled stage.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE, resolvePipelineOptions } from '../../src/inference/worker/plate/plate-pipeline';

const refused = (field: string) => expect.objectContaining({ code: 'CONFIG_INVALID', details: { field } });

describe('resolvePipelineOptions', () => {
  it('keeps the measured defaults, replacing only the overrides given', () => {
    expect(resolvePipelineOptions()).toEqual(DEFAULT_PIPELINE);
    expect(resolvePipelineOptions({ maxLines: 5, rec2Weight: undefined, boxRetry: null })).toEqual({
      ...DEFAULT_PIPELINE,
      maxLines: 5,
      boxRetry: null,
    });
    const settle = { ...DEFAULT_PIPELINE.finder!, mode: 'settle' as const };
    expect(resolvePipelineOptions({ finder: settle }).finder).toEqual(settle);
    expect(resolvePipelineOptions({ finder: null }).finder).toBeNull();
    expect(resolvePipelineOptions({ combine: 'voices' }).combine).toBe('voices');
  });

  it.each([
    [{ maxLines: 0 }, 'tuning.maxLines'],
    [{ detSides: [] }, 'tuning.detSides'],
    [{ detSides: [640, Number.NaN] }, 'tuning.detSides'],
    [{ acceptScore: Number.NaN }, 'tuning.acceptScore'],
    [{ padX: -0.1 }, 'tuning.padX'],
    [{ readBoth: 'yes' }, 'tuning.readBoth'],
    [{ boxRetry: { below: 0.8, grow: [1.1] } }, 'tuning.boxRetry'],
    [{ disagreeFactor: 2 }, 'tuning.disagreeFactor'],
    [{ lead: { eu: 'tesseract' } }, 'tuning.lead'],
    [{ settleOnFormat: 1 }, 'tuning.settleOnFormat'],
    [{ wordsRankAsWords: 'yes' }, 'tuning.wordsRankAsWords'],
    [{ extendShort: [2] }, 'tuning.extendShort'],
    [{ extendShort: [2, Number.NaN] }, 'tuning.extendShort'],
    [{ splitLong: 'yes' }, 'tuning.splitLong'],
    [{ combine: 'mean' }, 'tuning.combine'],
    [{ extraLines: -1 }, 'tuning.extraLines'],
    [{ extraLines: 1.5 }, 'tuning.extraLines'],
    [{ sharpenn: 1 }, 'tuning.sharpenn'],
    [{ finder: { ...DEFAULT_PIPELINE.finder, mode: 'always' } }, 'tuning.finder'],
    [{ finder: { ...DEFAULT_PIPELINE.finder, maxBoxes: 0 } }, 'tuning.finder'],
    [{ finder: { ...DEFAULT_PIPELINE.finder, grow: [1.1] } }, 'tuning.finder'],
    [{ finder: { ...DEFAULT_PIPELINE.finder, outsideWeight: 1.5 } }, 'tuning.finder'],
    [{ finder: { ...DEFAULT_PIPELINE.finder, trustScore: undefined } }, 'tuning.finder'],
  ])('%j is refused naming %s', (tuning, field) => {
    expect(() => resolvePipelineOptions(tuning as never)).toThrow(refused(field));
  });
});
