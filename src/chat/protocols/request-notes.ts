import { ServiceError } from "../../errors/service-error.ts";
import type { FeatureUse, LanguageModelFeature } from "../../llm/language-model-capabilities.ts";
import type { UntranslatedField } from "../chat-source.ts";

/**
 * What reading a client's request learns besides the input itself: the first field with no
 * translation (refused for the language-model source) and every feature it asks of the model
 * (refused by name where the provider lacks it).
 */
export class RequestNotes {
  untranslated: UntranslatedField | undefined;
  readonly features: FeatureUse[] = [];

  /** `param` has no translation into the AI SDK's call. */
  untranslatable(param: string, reason: string): void {
    this.untranslated ??= { param, reason };
  }

  uses(feature: LanguageModelFeature, param: string): void {
    this.features.push({ feature, param });
  }
}

/** A value the route's schema lets through but the request cannot mean: a 400 naming it. */
export function invalidField(param: string, message: string): ServiceError {
  return new ServiceError({ code: "VALIDATION_FAILED", message: `${param}: ${message}`, param });
}
