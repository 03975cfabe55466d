using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Shockwave.Samples.Chat;

/// <summary>A command a client sends (docs/chat-protocol.md); only the fields of its type are set.</summary>
public sealed record ChatCommand(string Type, string? Room = null, string? Text = null, string? To = null);

/// <summary>A refused message: a stable code the page can switch on and a sentence for people.</summary>
public sealed record ChatError(string Code, string Message, string? For = null, string? Room = null);

/// <summary>
/// The chat protocol's limits and its parser: every field of every command is checked here, before the hub acts on it.
/// Text is never changed (no trimming, encoding or stripping): it is stored and relayed as received, and the page
/// escapes it where it renders it (<c>textContent</c>).
/// </summary>
public static class ChatProtocol
{
    /// <summary>
    /// The largest message the hub parses, in bytes: 16 KiB, room for the longest text even with every character
    /// written as a \uXXXX escape. Larger ones get a <c>too-large</c> error.
    /// </summary>
    public const int MaxMessageBytes = 16 * 1024;

    /// <summary>The largest message the connection accepts at all: 64 KiB. Larger ones are closed with 1009 by the library.</summary>
    public const int MaxFrameBytes = 64 * 1024;

    /// <summary>The longest message text, in UTF-16 code units: 2000.</summary>
    public const int MaxTextLength = 2000;

    /// <summary>The longest room name: 32 characters.</summary>
    public const int MaxRoomLength = 32;

    /// <summary>The longest display name: 32 characters.</summary>
    public const int MaxNameLength = 32;

    /// <summary>Rooms one connection may be in at once: 20.</summary>
    public const int MaxRoomsPerConnection = 20;

    /// <summary>Messages of a room shown on join: 50.</summary>
    public const int HistoryLength = 50;

    internal static readonly JsonWriterOptions WriterOptions = new()
    {
        // The output is JSON parsed by JSON.parse, never embedded in HTML, so '<' and non-ASCII need no \u escapes;
        // the page renders every string with textContent.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 2, AllowDuplicateProperties = false };

    /// <summary>Parses and validates one text message; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(ReadOnlySequence<byte> payload, out ChatCommand command, out ChatError error)
    {
        command = null!;
        error = null!;
        if (payload.Length > MaxMessageBytes)
        {
            error = new ChatError("too-large", $"A message may hold at most {MaxMessageBytes} bytes (this one has {payload.Length}).");
            return false;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload, DocumentOptions);
        }
        catch (JsonException)
        {
            error = new ChatError("invalid-json", "The message is not valid JSON.");
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = new ChatError("invalid-json", "The message must be a JSON object.");
                return false;
            }

            if (!root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            {
                error = new ChatError("invalid-field", "The field 'type' is missing or not a string.");
                return false;
            }

            if (TryGetString(typeElement) is not { } type)
            {
                error = new ChatError("invalid-field", "The field 'type' is not well-formed Unicode.");
                return false;
            }

            string[]? fields = type switch
            {
                "join" or "leave" => ["type", "room"],
                "say" => ["type", "room", "text"],
                "dm" => ["type", "to", "text"],
                _ => null,
            };
            if (fields is null)
            {
                error = new ChatError("unknown-type", "Unknown message type (expected join, leave, say or dm).", For: type.Length <= 16 ? type : null);
                return false;
            }

            foreach (var property in root.EnumerateObject())
            {
                if (!Array.Exists(fields, property.NameEquals))
                {
                    error = new ChatError("invalid-field", $"A '{type}' message has only the fields {string.Join(", ", fields)}.", type);
                    return false;
                }

                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    error = new ChatError("invalid-field", $"The fields of a '{type}' message are strings.", type);
                    return false;
                }
            }

            string? room = null, text = null, to = null;
            foreach (var field in fields.AsSpan(1))
            {
                if (!root.TryGetProperty(field, out var value))
                {
                    error = new ChatError("invalid-field", $"A '{type}' message needs the field '{field}'.", type);
                    return false;
                }

                // A "\ud800" escape is valid JSON but not a string .NET can hold: GetString refuses it.
                string? s = TryGetString(value);
                string? problem = s is null ? "A field is well-formed Unicode (no lone surrogate)." : field switch
                {
                    "room" => ValidateRoom(s),
                    "to" => ValidateName(s),
                    _ => ValidateText(s),
                };
                if (problem is not null)
                {
                    string code = field switch { "room" => "invalid-room", "to" => "invalid-name", _ => "invalid-text" };
                    error = new ChatError(code, problem, type, field == "room" || type == "say" ? RoomOrNull(root) : null);
                    return false;
                }

                switch (field)
                {
                    case "room": room = s!; break;
                    case "to": to = s!; break;
                    default: text = s!; break;
                }
            }

            command = new ChatCommand(type, room, text, to);
            return true;
        }
    }

    /// <summary>Null when <paramref name="room"/> is a usable room name: 1 to 32 letters, digits, '-', '_' or '.'.</summary>
    public static string? ValidateRoom(string room)
    {
        if (room.Length is 0 or > MaxRoomLength)
        {
            return $"A room name has 1 to {MaxRoomLength} characters (this one has {room.Length}).";
        }

        foreach (char c in room)
        {
            if (!char.IsLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return "A room name holds only letters, digits, '-', '_' and '.'.";
            }
        }

        return null;
    }

    /// <summary>
    /// Null when <paramref name="name"/> is a usable display name: 1 to 32 letters, digits, spaces, '-', '_', '.' or
    /// an apostrophe, not starting or ending with a space.
    /// </summary>
    public static string? ValidateName(string name)
    {
        if (name.Length is 0 or > MaxNameLength)
        {
            return $"A name has 1 to {MaxNameLength} characters (this one has {name.Length}).";
        }

        if (name[0] == ' ' || name[^1] == ' ')
        {
            return "A name does not start or end with a space.";
        }

        foreach (char c in name)
        {
            if (!char.IsLetterOrDigit(c) && c is not (' ' or '-' or '_' or '.' or '\''))
            {
                return "A name holds only letters, digits, spaces, '-', '_', '.' and apostrophes.";
            }
        }

        return null;
    }

    /// <summary>
    /// Null when <paramref name="text"/> is a usable message: 1 to 2000 UTF-16 code units, not only white space, no
    /// control characters but tab and line breaks, and well-formed (no lone surrogate). It is never changed.
    /// </summary>
    public static string? ValidateText(string text)
    {
        if (text.Length is 0 or > MaxTextLength)
        {
            return $"A message has 1 to {MaxTextLength} characters (this one has {text.Length}).";
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return "A message is not only white space.";
        }

        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsControl(c) && c is not ('\t' or '\n' or '\r'))
            {
                return "A message holds no control characters (tab and line breaks are fine).";
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return "A message is well-formed Unicode (no lone surrogate).";
            }
        }

        return null;
    }

    private static string? RoomOrNull(JsonElement root) =>
        root.TryGetProperty("room", out var room) && TryGetString(room) is { } name && ValidateRoom(name) is null ? name : null;

    private static string? TryGetString(JsonElement element)
    {
        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
