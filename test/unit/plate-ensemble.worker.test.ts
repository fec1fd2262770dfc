/**
 * The 'ensemble' rule (src/inference/worker/plate/plate-ensemble.ts) on reads shaped like the pipeline's, and what the
 * access decision makes of its result: two readers that disagree beyond look-alikes never yield a grant, whichever
 * of them read the listed plate; a region's lead reports that reader's read; one reader alone is passed through.
 */
import { describe, expect, it } from 'vitest';
import {
  EN_TAG,
  TESSERACT_TAG,
  TRAINED_TAG,
  chooseRead,
  poolReads,
  readerFamily,
  type EnsembleOptions,
  type ScoredRead,
} from '../../src/inference/worker/plate/plate-ensemble';
import { decidePlate, voteConsensus } from '../../src/matching/plates';

const opts: EnsembleOptions = { disagreeFactor: 0.3, lead: { eu: 'ppocr', br: 'ppocr' } };

const read = (text: string, score: number, source: string, confidence = score): ScoredRead => ({
  text,
  score,
  confidence,
  source,
});
const ppocr = (text: string, score: number) => read(text, score, 's640line0/refined56');
const en = (text: string, score: number) => read(text, score, `s640line0/refined56${EN_TAG}`);
const trained = (text: string, score: number) => read(text, score, `s640line0/refined56${TRAINED_TAG}`);

/** The decision a kiosk would take on this one frame (one frame of support, as the benchmark decides). */
function decide(text: string, confidence: number, listed: string[], region: string) {
  const subjects = listed.map((p, i) => ({ id: `s${i}`, list: 'allow' as const, plates: [p] }));
  return decidePlate(voteConsensus([{ text, confidence }]), subjects, { region, minSupport: 1 }, { now: 0 }).outcome;
}

describe('plate ensemble', () => {
  it('names the reader of a read by its source tag', () => {
    expect(readerFamily('s640line0/refined56')).toBe('ppocr');
    expect(readerFamily(`box/band0.62${EN_TAG}/us-3l4d`)).toBe('ppocr');
    expect(readerFamily(`box/plate${TRAINED_TAG}/eu-cz`)).toBe('trained');
    expect(readerFamily(`s640line1/det${TESSERACT_TAG}`)).toBe('tesseract');
  });

  it('pools equal texts: sum adds scores, max keeps the best, and the best read of the text is kept', () => {
    const reads = [ppocr('ABC1234', 0.5), trained('ABC1234', 0.4), ppocr('ABC1284', 0.7)];
    expect(poolReads(reads, 'sum').map((r) => [r.text, r.score])).toEqual([
      ['ABC1234', 0.9],
      ['ABC1284', 0.7],
    ]);
    expect(poolReads(reads, 'max')[0]!.text).toBe('ABC1284');
    expect(poolReads(reads, 'sum')[0]!.source).toBe('s640line0/refined56');
  });

  it("'voices' adds each recogniser's reads but counts PP-OCR's two recognisers as one voice", () => {
    // PP-OCRv4 and its English model read the same misread; the trained reader read the plate (a 4GLS168 photo).
    const reads = [trained('4GLS168', 0.999), ppocr('LGLS168', 0.69), en('LGLS168', 0.63)];
    expect(poolReads(reads, 'sum')[0]!.text).toBe('LGLS168');
    const v = poolReads(reads, 'voices');
    expect(v.map((r) => [r.text, r.score])).toEqual([
      ['4GLS168', 0.999],
      ['LGLS168', 0.69],
    ]);
    // A recogniser's own reads of several crops still add up, and so do the families.
    const several = [ppocr('ABC1234', 0.5), ppocr('ABC1234', 0.25), en('ABC1234', 0.6), trained('ABC1234', 0.4)];
    expect(poolReads(several, 'voices')[0]!.score).toBeCloseTo(0.75 + 0.4, 9);
    expect(poolReads(several, 'sum')[0]!.score).toBeCloseTo(1.75, 9);
    // Tesseract is a voice of its own.
    const tess = read('ABC1234', 0.3, `x/det${TESSERACT_TAG}`);
    expect(poolReads([...several, tess], 'voices')[0]!.score).toBeCloseTo(1.45, 9);
    // The fields are the first read's (or a later one's above the pooled score), as under 'sum'.
    expect(v[1]!.source).toBe('s640line0/refined56');
  });

  it("under 'voices' a family's own best is still both its models' (the agreement test is unchanged)", () => {
    // v4 reads an extra 0, its format decode and the English model read the plate: PP-OCR's own best is the plate,
    // so the readers agree and the frame keeps its confidence (a 2DA044 photo).
    const raw = [
      ppocr('2DA0044', 0.96),
      read('2DA044', 0.09, 's1280line0/refined56/us-1d2l3d'),
      en('2DA044', 0.9),
      trained('2DA044', 0.85),
    ];
    for (const combine of ['sum', 'voices'] as const) {
      const c = chooseRead(raw, 'us', combine, opts);
      expect(c.readers).toBe('agree');
      expect(c.best!.text).toBe('2DA044');
      expect(decide(c.best!.text, c.confidence, ['2DA044'], 'us')).toBe('grant');
    }
  });

  it("'voices' reports the trained read over PP-OCR's doubled misread, and the disagreement still refuses", () => {
    const raw = [trained('4GLS168', 0.999), ppocr('LGLS168', 0.69), en('LGLS168', 0.63)];
    const c = chooseRead(raw, 'us', 'voices', opts);
    expect(c.best!.text).toBe('4GLS168');
    expect(c.readers).toBe('disagree');
    for (const listed of [['4GLS168'], ['LGLS168']])
      expect(decide(c.best!.text, c.confidence, listed, 'us')).not.toBe('grant');
  });

  it('two readers agreeing (exactly or up to look-alikes) keep the confidence', () => {
    const exact = chooseRead([ppocr('ADL4681', 0.9), trained('ADL4681', 0.95)], 'us', 'sum', opts);
    expect(exact.readers).toBe('agree');
    expect(exact.best!.text).toBe('ADL4681');
    // The pooled text's best single read gives the confidence (here the trained reader's).
    expect(exact.confidence).toBe(0.95);
    // O/0 is one glyph on US plates: no disagreement.
    const lookAlike = chooseRead([ppocr('ADL4681', 0.9), trained('ADL468I', 0.8)], 'us', 'sum', opts);
    expect(lookAlike.readers).toBe('agree');
    expect(lookAlike.confidence).toBe(0.9);
  });

  it('readers disagreeing on a clear character cut the confidence, and the decision refuses either plate', () => {
    // The trained reader confidently reads the impostor's plate (one clear character away); PP-OCR reads the car's.
    const raw = [trained('ADL4687', 0.99), ppocr('ADL4681', 0.6), en('ADL4681', 0.3)];
    const c = chooseRead(raw, 'us', 'sum', opts);
    expect(c.readers).toBe('disagree');
    expect(c.confidence).toBeCloseTo(0.99 * 0.3, 6);
    for (const listed of [['ADL4687'], ['ADL4681'], ['ADL4681', 'ADL4687']])
      expect(decide(c.best!.text, c.confidence, listed, 'us')).not.toBe('grant');
    // Without the rule the pooled read would have been granted: the refusal is the rule's doing.
    expect(decide(c.best!.text, c.best!.confidence, ['ADL4681', 'ADL4687'], 'us')).not.toBe('low-quality');
  });

  it('in a region PP-OCR leads, a confident trained misread neither wins nor outweighs PP-OCR', () => {
    // EU: the trained reader reads the Slovak crest as a character; pooled, its read would win on score.
    const raw = [trained('HRK708AI', 0.99), trained('HRK708AI', 0.5), ppocr('RK708AI', 0.8)];
    expect(chooseRead(raw, 'us', 'sum', opts).best!.text).toBe('HRK708AI');
    const eu = chooseRead(raw, 'eu', 'sum', opts);
    expect(eu.best!.text).toBe('RK708AI');
    expect(eu.readers).toBe('disagree');
    expect(decide(eu.best!.text, eu.confidence, ['RK708AI'], 'eu')).toBe('low-quality');
    // Agreeing up to look-alikes, PP-OCR's spelling is reported (BR: the trained reader's leading O read as D).
    const br = chooseRead([trained('DVK3653', 0.98), ppocr('OVK3653', 0.95)], 'br', 'sum', opts);
    expect(br.readers).toBe('agree');
    expect(br.best!.text).toBe('OVK3653');
    expect(decide(br.best!.text, br.confidence, ['OVK3653'], 'br')).toBe('grant');
  });

  it('one reader alone (or only empty reads from the other) is passed through unchanged', () => {
    const alone = chooseRead([trained('6NM162', 0.8)], 'us', 'sum', opts);
    expect(alone).toMatchObject({ readers: 'single', confidence: 0.8 });
    expect(alone.best!.text).toBe('6NM162');
    const blank = chooseRead([trained('6NM162', 0.8), ppocr('', 0.9)], 'us', 'sum', opts);
    expect(blank.readers).toBe('single');
    // Tesseract is a third family: it neither confirms nor vetoes the trained reader.
    const other = chooseRead([trained('6NM162', 0.8), read('GNM182', 0.9, `x/det${TESSERACT_TAG}`)], 'us', 'sum', opts);
    expect(other.readers).toBe('single');
    expect(chooseRead([], 'us', 'sum', opts)).toMatchObject({ best: undefined, confidence: 0, readers: 'single' });
  });

  it('disagreeFactor 1 turns the veto off', () => {
    const c = chooseRead([trained('ADL4687', 0.99), ppocr('ADL4681', 0.6)], 'us', 'sum', {
      ...opts,
      disagreeFactor: 1,
    });
    expect(c.readers).toBe('disagree');
    expect(c.confidence).toBe(0.99);
  });
});
