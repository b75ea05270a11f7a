"""The /agent orchestrator: onboarding, context, model call with fallbacks, actions, memory."""
