// Types drawn from the generated contract (src/openapi.ts, made by `npm run gen` from
// ../openapi.yaml): the SDK writes no shape of its own, so a change of the contract that
// breaks a helper breaks the build.
import type { components, operations, paths } from './openapi';

/** The contract's schemas by name, e.g. `Schemas['DailyCheckin']`. */
export type Schemas = components['schemas'];

/** A path of the contract, e.g. `/api/v1/tasks/{id}/accept`. */
export type ApiPath = keyof paths;

/** An operation of the contract by its operationId, e.g. `createCheckin`. */
export type OperationId = keyof operations;

type JsonContent<R> = R extends { content: { 'application/json': infer J } } ? J : never;

/** The JSON body of an operation's success answer (200 or 201). */
export type OkOf<K extends OperationId> = JsonContent<
  operations[K]['responses'][Extract<keyof operations[K]['responses'], 200 | 201>]
>;

/** The JSON request body of an operation. */
export type BodyOf<K extends OperationId> = operations[K] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

/** The query parameters of an operation. */
export type QueryOf<K extends OperationId> = NonNullable<operations[K]['parameters']['query']>;

export type Me = Schemas['Me'];
export type LoginResponse = Schemas['LoginResponse'];
export type Membership = Schemas['Membership'];
export type BadgeType = Schemas['BadgeType'];
export type DailyCheckin = Schemas['DailyCheckin'];
export type DailyCheckinRequest = Schemas['DailyCheckinRequest'];
export type TaskCheckinRequest = Schemas['TaskCheckinRequest'];
export type TaskAssignment = Schemas['TaskAssignment'];
export type Report = Schemas['Report'];
export type CreateReportRequest = Schemas['CreateReportRequest'];
export type SubscriptionList = Schemas['SubscriptionList'];
export type NotificationKind = Schemas['NotificationKind'];
export type ErrorBody = Schemas['Error'];
