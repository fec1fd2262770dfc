/**
 * Decision reasons in the guard's language. The policies (src/matching, src/app/liveness-gate.ts) write a reason as
 * one fixed English phrase with at most a few numbers or fixed words in it; this table turns each phrase into the
 * chosen language. It owns only wording: it never changes an outcome, and a reason it does not know is shown as it
 * came (a guard's own override reason, for one) rather than dropped. test/unit/i18n-complete.test.ts collects every
 * reason phrase from the policy sources and fails when one has no Chinese here.
 */
import type { Lang } from './i18n';

type Zh = string | ((...groups: string[]) => string);

const CHALLENGE_WORDS: Record<string, string> = {
  'turn-left': '向左转头',
  'turn-right': '向右转头',
  closer: '靠近',
  blink: '眨眼',
  timeout: '超时',
  'wrong-action': '动作不对',
  'identity-switch': '换了人',
  'face-lost': '人脸离开画面',
  'multiple-faces': '多张人脸',
  spoof: '疑似伪造',
};

function words(s: string): string {
  return s
    .split(' + ')
    .map((w) => CHALLENGE_WORDS[w] ?? w)
    .join(' + ');
}

/** [English phrase as a whole-string pattern, Chinese]. Order matters only for the compound "…; challenge passed". */
const PHRASES: readonly (readonly [RegExp, Zh])[] = [
  // face policy (src/matching/face/decision-policy.ts)
  [/^on the deny list$/, '在禁止名单上'],
  [/^presentation attack suspected \(live ([\d.]+)\)$/, (l) => `疑似呈现攻击（活体 ${l}）`],
  [/^frames matched different people$/, '多帧匹配到不同的人'],
  [/^some frames did not look live$/, '部分画面不像真人'],
  [/^a frame also matched someone on the deny list$/, '有一帧同时匹配到禁止名单上的人'],
  [/^waiting for a frame of the matched person$/, '正在等待匹配者本人的画面'],
  [/^matched a person who is no longer enrolled$/, '匹配到的人已不在名单中'],
  [/^enrolled but not valid at this time$/, '已登记，但当前不在有效期内'],
  [/^matched (\d+) of (\d+) frames$/, (k, n) => `${n} 帧中有 ${k} 帧匹配`],
  [/^not enrolled$/, '未登记'],
  [/^low quality$/, '图像质量不足'],
  [/^no face$/, '无人脸'],
  [/^too close to another enrolled person$/, '与另一位已登记人员过于相似'],
  [/^similarity between thresholds$/, '相似度介于两个阈值之间'],
  [/^frames disagree$/, '多帧结果不一致'],
  // quality gates (src/shared/face-protocol.ts QUALITY_REASONS)
  [/^step into the frame$/, '人脸不完整，请进入画面'],
  [/^step back$/, '距离太近，请稍微后退'],
  [/^come closer$/, '距离太远'],
  [/^look at the camera$/, '未正对摄像头'],
  [/^too dark$/, '光线太暗'],
  [/^too bright$/, '光线太亮'],
  [/^too blurry$/, '画面模糊'],
  // plate policy (src/matching/plates/decide.ts)
  [/^no plate read$/, '未读到车牌'],
  [/^only (\d+) frame\(s\) agree$/, (n) => `只有 ${n} 帧结果一致`],
  [/^frames disagree on the plate$/, '多帧读到的车牌不一致'],
  [/^read confidence too low$/, '识别置信度太低'],
  [/^read does not look like a plate$/, '读到的内容不像车牌'],
  [/^plate not on the list$/, '车牌不在名单中'],
  [/^(\d+) listed plates are this close to the read$/, (n) => `有 ${n} 个名单车牌与读数同样接近`],
  [/^plate is on the deny list$/, '车牌在禁止名单上'],
  [/^a deny-listed plate is in view$/, '画面中有禁止名单上的车牌'],
  [/^no frames read the listed plate itself, only their vote$/, '没有一帧单独读出名单上的车牌，只有多帧合成的结果'],
  [/^plate matches exactly$/, '车牌完全匹配'],
  [/^plate too short to grant on$/, '车牌太短，不能据此放行'],
  [/^plate matches up to look-alike characters$/, '车牌匹配（仅相似字符不同）'],
  // active challenge (src/app/liveness-gate.ts)
  [/^challenge failed: ([\w-]+) \((.+)\)$/, (f, what) => `动作验证失败：${words(f)}（${words(what)}）`],
  [/^challenge not completed: ([\w-]+) \((.+)\)$/, (f, what) => `动作验证未完成：${words(f)}（${words(what)}）`],
];

function one(reason: string): string | null {
  for (const [re, zh] of PHRASES) {
    const m = re.exec(reason);
    if (m) return typeof zh === 'string' ? zh : zh(...m.slice(1));
  }
  return null;
}

/** The reason in `lng`; a phrase this table does not know comes back unchanged. */
export function reasonText(reason: string, lng: Lang): string {
  if (lng === 'en' || reason === '') return reason;
  // "<grant reason>; challenge passed (turn-left + blink)"
  const passed = /^(.*); challenge passed \((.+)\)$/.exec(reason);
  if (passed) return `${reasonText(passed[1]!, lng)}；动作验证通过（${words(passed[2]!)}）`;
  return one(reason) ?? reason;
}

/** Whether the table knows this phrase (the completeness test asks). */
export function knownReason(reason: string): boolean {
  const passed = /^(.*); challenge passed \((.+)\)$/.exec(reason);
  return passed ? one(passed[1]!) !== null : one(reason) !== null;
}
